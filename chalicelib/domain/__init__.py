"""Domain: entities, value objects, rules and errors. Pure Python, no I/O."""
