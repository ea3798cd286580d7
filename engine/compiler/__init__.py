"""load -> validate -> link -> build -> write: config + audiences into a snapshot and a send manifest.

``load_plan`` (load, validate, link) raises ``DiagnosticsError`` with every
problem of a run; ``compile_plan`` (build, write) turns a ``Plan`` plus the
bound audiences into a snapshot and a send manifest, or leaves nothing behind.
"""

from ._build import BuildOptions, BuildResult, CompileError, compile_plan
from ._fiction import FictionError, generate_audience
from ._link import LinkResult, link_config, load_plan
from ._plan import AudienceBinding, CampaignPlan, CategoryRules, CompliancePolicy, Plan, QuietHours

__all__ = [
    "AudienceBinding",
    "BuildOptions",
    "BuildResult",
    "CampaignPlan",
    "CategoryRules",
    "CompileError",
    "CompliancePolicy",
    "FictionError",
    "LinkResult",
    "Plan",
    "QuietHours",
    "compile_plan",
    "generate_audience",
    "link_config",
    "load_plan",
]
