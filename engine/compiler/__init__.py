"""load -> validate -> link -> build -> write: config + audiences into a snapshot and a send manifest."""
