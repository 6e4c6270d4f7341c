"""Benchmarks of the simulation engine (not part of the installed package).

``benchmarks.engine`` measures customer-months per second of the vectorised
model against ``benchmarks.reference_agents``, the same monthly dynamics
written as one ``mesa.Agent`` per customer.
"""
