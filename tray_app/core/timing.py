"""Every time rule of the alert policy and the page assessment, in one object.

The rules depend on each other, so they live together and :meth:`Timing.problems` says where
a combination contradicts itself:

- ``interval`` is how often the page is read when all is quiet. A silence between two readings
  longer than ``gap_tolerance`` (2.5 intervals: one missed poll is jitter, two are not) means
  the app wasn't watching (sleep, no connection, failures backing off), and every length that
  spans it is told as "at least".
- ``failure_threshold`` failed polls in a row turn the icon grey; the first failures after a
  wake are forgiven for ``wake_grace``. A failed poll neither confirms nor cancels a recovery.
- ``recovery_confirmations`` operational readings in a row make the all-clear. A flap window
  shorter than the time a recovery takes to confirm could never hold a down/back pair, so the
  window used (``flap_base``) is at least (confirmations + 2) intervals, however long the
  interval is set.
- Trouble left on the components of an incident that left the page while no longer colouring
  the icon is that incident's for ``flap_base``, quietly (a told one still colouring it holds
  its components until they read well).
- A window that had to hold changes back is followed by one ``flap_growth`` times wider (up to
  ``flap_max``), so a page that flips all day is summed up in a few notifications.
- An incident in ``monitoring`` counts as "recovering" (degraded at most) for
  ``monitoring_grace``, then stops colouring the icon. An unresolved incident with no update
  for ``stale_after`` and its components operational is stale. A grace longer than the
  staleness would let a stale notice colour the icon, hence grace < stale.
- After a restart the app remembers the outage it was in for ``restore_within``; the ids of
  incidents it reported over are remembered for ``forget_after``, which must be at least as
  long, or a restart could announce an incident that was already told over.
- An incident's own start is used for its length when it is no earlier than the first poll
  that could have seen it minus ``backdate_allowance`` (pages post a few minutes late and
  back-date the start); otherwise the first poll that saw it, as a lower bound.
- ``upcoming_lead`` is how long before a scheduled maintenance its notice goes out.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE = 60.0
HOUR = 3600.0


@dataclass(frozen=True)
class Timing:
    interval: float = 60.0
    recovery_confirmations: int = 2
    failure_threshold: int = 3
    wake_grace: float = 60.0
    flap_window: float = 10 * MINUTE
    flap_growth: float = 2.0
    flap_max: float = 6 * HOUR
    monitoring_grace: float = 2 * HOUR
    stale_after: float = 12 * HOUR
    restore_within: float = 6 * HOUR
    forget_after: float = 24 * HOUR
    backdate_allowance: float = 1 * HOUR
    upcoming_lead: float = 1 * HOUR

    @property
    def gap_tolerance(self) -> float:
        return 2.5 * self.interval

    @property
    def flap_base(self) -> float:
        return max(self.flap_window, (self.recovery_confirmations + 2) * self.interval)

    def problems(self) -> list[str]:
        """Contradictions between the rules, in words; empty when they agree."""
        out = []
        if self.recovery_confirmations < 1 or self.failure_threshold < 1:
            out.append("recovery_confirmations and failure_threshold must be at least 1")
        if self.flap_growth < 1 or self.flap_max < self.flap_window:
            out.append("flap_growth must be at least 1 and flap_max at least flap_window")
        if self.monitoring_grace >= self.stale_after:
            out.append(f"monitoring_grace ({self.monitoring_grace:g} s) must be shorter than "
                       f"stale_after ({self.stale_after:g} s)")
        if self.forget_after < self.restore_within:
            out.append("forget_after must be at least restore_within")
        if min(self.wake_grace, self.monitoring_grace, self.backdate_allowance,
               self.upcoming_lead) < 0:
            out.append("times can't be negative")
        return out
