"""The framework side of the OCPP module: provided interfaces (one file each) and adapters for requirements.

Only this package imports both `framework` and the OCPP core; see the layering in the project design.
"""
