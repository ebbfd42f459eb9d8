"""Disclosure control for every published mart: the linked structure (structure.py), the one
engine that chooses hidden cells (engine.py) and the attack that audits them (attack.py)."""
