"""Which build of predictex a test run imports: "compiled" (predictex-native's extension modules, as
`pip install '.[server,test]'` installs them) or "pure" (the plain sources: an editable install, or the
checkout's src/ first on the path)."""

from __future__ import annotations

BUILD_ENV = "PREDICTEX_TEST_BUILD"  # set to the build a run must import (tests/test_pure_build.py sets "pure")


def running_build() -> str:
    import predictex.core.engine as engine

    return "compiled" if (engine.__file__ or "").endswith((".so", ".pyd")) else "pure"
