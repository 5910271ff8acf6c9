"""How desired state reaches the hubs: one `Transport` per backend (memory, simulated, mqtt)."""
