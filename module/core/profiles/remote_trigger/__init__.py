"""The RemoteTrigger profile: TriggerMessage, over what every registered profile offers to send on request."""

from __future__ import annotations

from module.core.profile import Operation, Profile
from module.core.profiles.remote_trigger import trigger_message
from module.core.profiles.remote_trigger.service import RemoteTriggerService

PROFILE: Profile[RemoteTriggerService] = Profile(
    name="RemoteTrigger",
    make_service=RemoteTriggerService,
    operations=(Operation(trigger_message.ACTION, trigger_message.handle),),
)
