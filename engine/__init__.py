"""smslink: SMS link tracking as config-as-code."""

__version__ = "0.1.0"
