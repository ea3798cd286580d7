"""The compliance diff between two compiled revisions of the config, and its renderers."""
