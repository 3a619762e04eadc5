"""``mppay doctor``: check a real-mode configuration before the first payment (README: Going live).

``run_checks(settings)`` returns one ``CheckResult`` per check; ``render`` prints them.
"""

from .clock import DEFAULT_MAX_SKEW_SECONDS
from .result import CheckResult
from .run import doctor, run_checks

__all__ = ["DEFAULT_MAX_SKEW_SECONDS", "CheckResult", "doctor", "run_checks"]
