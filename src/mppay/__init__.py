"""mppay: a self-hosted payment backend for WeChat Mini Programs, with a WeChat Pay emulator."""

__version__ = "0.1.0"
