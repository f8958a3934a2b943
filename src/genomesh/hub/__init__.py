"""The hub app: registry, catalogue, Beacon network, DAC, passports."""
