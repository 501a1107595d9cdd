"""RemoteTrigger profile: TriggerMessage."""
