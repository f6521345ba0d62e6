from tests.conftest_desktop import desktop  # noqa: F401 - the virtual desktop fixture
