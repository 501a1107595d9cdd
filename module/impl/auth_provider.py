"""Provided `auth_provider` (auth_token_provider): publishes RemoteStartTransaction tokens as `provided_token`.

It has no commands; the publishing happens in FrameworkCharger.provide_token.
"""

IMPL = "auth_provider"
