"""A faithful WeChat Pay server for local development and tests (see README.md here).

``Emulator`` holds the state and behaviour; ``create_app(emulator)`` serves it over HTTP (WeChat
Pay v3 and v2 paths, ``/sns/jscode2session`` and the ``/sandbox/`` controls). This package does
not import ``mppay.wechatpay``: it implements the server side on its own, so that one shared
misunderstanding of the protocol cannot pass on both sides.
"""

from .app import create_app
from .clock import SandboxClock
from .emulator import Emulator
from .errors import BusinessError
from .faults import FaultError
from .login import LoginError

__all__ = ["BusinessError", "Emulator", "FaultError", "LoginError", "SandboxClock", "create_app"]
