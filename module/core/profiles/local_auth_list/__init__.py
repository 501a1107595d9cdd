"""The LocalAuthListManagement profile: the local authorization list the CSMS sends (SendLocalList) and asks the
version of (GetLocalListVersion); authorization consults it before the cache (module/core/authorization.py). Left
out of SupportedFeatureProfiles, the charge point still answers both as one without local lists (-1, NotSupported),
as the 1.6 spec defines GetLocalListVersion's -1 and libocpp answers."""

from __future__ import annotations

from module.core.profile import Operation, Profile
from module.core.profiles.local_auth_list import get_local_list_version, send_local_list
from module.core.profiles.local_auth_list.service import LocalAuthListService

PROFILE: Profile[LocalAuthListService] = Profile(
    name="LocalAuthListManagement",
    make_service=LocalAuthListService,
    operations=(Operation(get_local_list_version.ACTION, get_local_list_version.handle),
                Operation(send_local_list.ACTION, send_local_list.handle)),
    answers_when_unsupported={get_local_list_version.ACTION: {"listVersion": -1},
                              send_local_list.ACTION: {"status": "NotSupported"}},
)
