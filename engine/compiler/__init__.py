"""load -> validate -> link -> build -> write: config + audiences into a snapshot and a send manifest."""

from ._plan import AudienceBinding, CampaignPlan, CategoryRules, CompliancePolicy, Plan, QuietHours

__all__ = ["AudienceBinding", "CampaignPlan", "CategoryRules", "CompliancePolicy", "Plan", "QuietHours"]
