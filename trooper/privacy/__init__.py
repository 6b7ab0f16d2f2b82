"""Privacy: find secrets and personal data in what a client sends, so the routing layer can keep
them on the machine (``TROOPER_PRIVACY=local``) or mask them before they leave (``redact``)."""

from trooper.privacy.custom import CustomRules, compile_rules
from trooper.privacy.detect import detect
from trooper.privacy.findings import PERSONAL_KINDS, SECRET_KINDS, Finding

__all__ = ["PERSONAL_KINDS", "SECRET_KINDS", "CustomRules", "Finding", "compile_rules", "detect"]
