"""Pydantic models of what authors write in YAML; loading with positions; JSON Schema."""
