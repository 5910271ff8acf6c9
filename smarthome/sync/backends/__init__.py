"""How desired state leaves for the hubs: one backend class per transport, chosen by
SMARTHOME_DEVICE_TRANSPORT_BACKEND (memory: unit tests; simulated: `make run`; mqtt: production)."""
