"""Every donor- and staff-facing error text, by stable code: (Chinese, English).

Codes are part of the API contract; texts may be refined. Packages add their codes here so that
one table holds all translations.
"""

MESSAGES: dict[str, tuple[str, str]] = {
    # generic HTTP
    "bad_request": ("请求无效。", "The request is invalid."),
    "invalid_json": ("请求体不是有效的 JSON。", "The request body is not valid JSON."),
    "validation_failed": ("提交的信息有误，请检查标出的字段。", "Some fields are invalid."),
    "unauthorized": ("请先登录。", "Authentication is required."),
    "token_expired": ("登录已过期，请重新登录。", "The token has expired."),
    "token_invalid": ("登录凭证无效。", "The token is invalid."),
    "token_revoked": ("登录凭证已失效，请重新登录。", "The token has been revoked."),
    "forbidden": ("您无权执行此操作。", "You are not allowed to do this."),
    "not_found": ("请求的内容不存在。", "Not found."),
    "method_not_allowed": ("不支持该请求方法。", "Method not allowed."),
    "conflict": ("与现有记录冲突。", "The request conflicts with an existing record."),
    "payload_too_large": ("请求内容过大。", "The request body is too large."),
    "unsupported_media_type": (
        "不支持的内容类型，请使用 application/json。",
        "Unsupported content type; send application/json.",
    ),
    "rate_limited": ("操作过于频繁，请稍后再试。", "Too many requests; try again later."),
    "internal_error": ("服务暂时出现问题，请稍后再试。", "Internal error; please try again."),
    "service_unavailable": ("服务暂不可用。", "The service is unavailable."),
    # auth and one-time codes
    "otp_invalid": ("验证码错误或已过期。", "The code is wrong or has expired."),
    "otp_too_many_attempts": (
        "验证码错误次数过多，请重新获取。",
        "Too many wrong codes; request a new one.",
    ),
    "otp_resend_too_soon": (
        "验证码发送过于频繁，请稍后再试。",
        "Wait before requesting a new code.",
    ),
    "otp_daily_limit": (
        "该号码今日验证码次数已达上限。",
        "Daily code limit reached for this number.",
    ),
    "otp_ip_limit": ("请求过于频繁，请稍后再试。", "Too many code requests from this address."),
    "login_failed": ("用户名或密码错误。", "Wrong username or password."),
    "account_locked": ("登录失败次数过多，账户已暂时锁定。", "Too many failed logins; try later."),
    "account_disabled": ("账户已停用。", "This account is disabled."),
    "device_credentials_invalid": ("设备凭证无效。", "Invalid device credentials."),
    "not_registered": ("该手机号尚未注册，请先注册。", "This mobile number is not registered."),
    "refresh_reused": (
        "登录凭证已被使用，为安全起见请重新登录。",
        "This refresh token was already used; log in again.",
    ),
    "device_option_unused": (
        "该类设备不使用此选项。",
        "This kind of device takes no such option.",
    ),
    # donors
    "id_number_taken": ("该身份证号已注册。", "This ID number is already registered."),
    "mobile_taken": ("该手机号已被其他账户使用。", "This mobile number is already in use."),
    "donor_erased": ("该账户已注销。", "This account has been erased."),
    "id_number_checksum": ("身份证号校验位不正确。", "The ID number's check digit is wrong."),
    "id_number_length": ("身份证号应为18位。", "An ID number has 18 characters."),
    "id_number_component": (
        "身份证号中的出生日期或地区代码无效。",
        "The ID number's birth date or region code is invalid.",
    ),
    "id_number_format": ("身份证号格式不正确。", "The ID number is malformed."),
    "id_number_birth_date": (
        "身份证号中的出生日期无效。",
        "The ID number's birth date is invalid.",
    ),
    "mobile_format": ("手机号格式不正确。", "The mobile number is malformed."),
    "mobile_not_cn": (
        "请输入有效的中国大陆手机号。",
        "Enter a valid mainland China mobile number.",
    ),
    "mobile_not_mobile": (
        "请输入手机号，而不是固定电话。",
        "Enter a mobile, not a landline, number.",
    ),
    "facility_code_format": (
        "机构代码应为1个字母加4位数字（ISBT 128）。",
        "A facility code is one letter and four digits (ISBT 128).",
    ),
    "naive_datetime": ("时间必须带时区。", "Times must carry a time zone."),
    # eligibility reasons (donor-facing: neutral, no medical detail)
    "too_young": ("未达到献血年龄。", "Below the minimum donor age."),
    "too_old_first_time": (
        "已超过首次献血的年龄上限。",
        "Above the age limit for a first donation.",
    ),
    "too_old_repeat": ("已超过献血年龄上限。", "Above the donor age limit."),
    "interval": ("距上次献血的间隔还不够。", "Too soon after the previous donation."),
    "yearly_cap": (
        "已达到本年度该类献血的次数上限。",
        "This year's limit for this kind is reached.",
    ),
    "deferred": (
        "暂时不能献血，请在可献血日期后再来。",
        "Not able to donate for now; please come back after the date shown.",
    ),
    "policy_undecided": (
        "该项规则尚待核实，请咨询献血点工作人员。",
        "This rule is not settled yet; please ask the staff.",
    ),
    "too_old_after_reaction": (
        "曾有献血反应记录，按规定不能延长献血年龄。",
        "A donation reaction is on record, so the age limit is not extended.",
    ),
    "kind_not_offered": (
        "本地血站不开展此类献血。",
        "This kind of donation is not offered here.",
    ),
    "interval_later_donation": (
        "与之后已登记的一次献血间隔不够。",
        "Too close to a later donation on record.",
    ),
    "yearly_volume_cap": (
        "本年度单采血小板和血浆的采集总量已接近上限。",
        "This year's platelets and plasma collected are at or near the yearly limit.",
    ),
    # donations and certificates
    "donor_not_eligible": (
        "献血者当前不符合献血条件；如确需采集，请填写原因。",
        "The donor is not eligible now; give an override reason to record anyway.",
    ),
    "donor_not_found": ("未找到该献血者。", "No such donor."),
    "unknown_donation_kind": ("不支持的献血类型。", "Unknown donation kind."),
    "amount_unit_mismatch": (
        "该献血类型的计量单位不同（毫升或治疗单位）。",
        "This kind is measured in the other unit (ml or therapeutic units).",
    ),
    "amount_not_allowed": ("献血量不在允许范围内。", "This amount is not allowed for this kind."),
    "amount_not_decided": (
        "该献血类型的允许献血量尚待核实。",
        "The allowed amounts for this kind are not settled yet.",
    ),
    "collected_in_future": ("采集时间不能晚于当前时间。", "The collection time is in the future."),
    "din_format": ("献血条码格式不正确（ISBT 128）。", "Not an ISBT 128 donation number."),
    "din_check_character": ("献血条码校验位不正确。", "The donation number's check fails."),
    "din_taken": ("该献血条码已登记。", "This donation number is already recorded."),
    "donation_already_voided": ("该记录已作废。", "This donation is already voided."),
    "idempotency_key_required": (
        "请求需要 Idempotency-Key 头（8到128个字符）。",
        "Send an Idempotency-Key header (8 to 128 characters).",
    ),
    "idempotency_key_reused": (
        "该 Idempotency-Key 已用于另一个请求。",
        "This Idempotency-Key was used for a different request.",
    ),
    "donation_date_invalid": ("献血日期无效。", "The donation date is invalid."),
    "certificate_unknown": ("未找到该献血证。", "No certificate has this number."),
    "deferral_reason_unknown": ("未知的暂缓原因代码。", "Unknown deferral reason code."),
    "deferral_needs_date": (
        "请提供起算日期或截止日期。",
        "Give the date the period counts from, or an end date.",
    ),
    "history_claim_too_many": (
        "核验失败次数过多，请明天再试或到献血点办理。",
        "Too many failed attempts; try again tomorrow or ask at a donation site.",
    ),
    "history_claim_failed": (
        "该献血条码与您的献血记录不符。",
        "This donation number does not match your records.",
    ),
    "history_to_confirm": (
        "我们找到了可能属于您的以往献血记录，确认后即可显示并计入累计。",
        "We found earlier donation records that may be yours; confirm them to see and count them.",
    ),
    "history_confirm_by_donation_number": (
        "输入其中任意一次献血的献血条码号（见纸质献血证或血袋条码）。",
        "Enter the donation number of any one of them (on a paper certificate or the bag label).",
    ),
    "history_confirm_at_site": (
        "或携带本人身份证到任一献血点，由工作人员核验后确认。",
        "Or bring your ID card to any donation site; staff confirm them after checking it.",
    ),
    "history_donor_not_registered": (
        "该献血者尚未注册，注册后才能确认以往献血记录。",
        "The donor has not registered yet; earlier records are confirmed once they have.",
    ),
    "history_not_found": (
        "该献血者没有待确认的以往献血记录。",
        "The donor has no records to confirm.",
    ),
    "id_card_not_checked": ("请先核验献血者本人的身份证。", "Check the donor's own ID card first."),
    "standard_not_in_force": (
        "该日期没有生效的献血者健康检查标准。",
        "No donor health standard is in force on this date.",
    ),
    "volume_required": (
        "请填写单采设备显示的采集量（毫升）。",
        "Give the collected volume (ml) the apheresis device shows.",
    ),
    "collected_too_long_ago": (
        "采集日期过早，不能在此补录；较早的记录请由血站导入。",
        "This collection date is too far back to enter here; older records are imported.",
    ),
    "collected_not_on_visit_day": (
        "采集日期须为该次到访当天。",
        "The collection must be on the day of the visit.",
    ),
    # sites and staff
    "facility_code_taken": ("该机构代码已存在。", "This facility code is already in use."),
    "username_taken": ("该用户名已存在。", "This username is already taken."),
    "site_not_served": ("您不在该献血点工作。", "You do not serve this site."),
    # appointments: slots, bookings, questionnaire, check-in
    "schedule_sessions_overlap": (
        "同一天的开放时段不能重叠。",
        "Sessions on the same day must not overlap.",
    ),
    "schedule_session_too_short": (
        "开放时段短于一个预约时段。",
        "A session is shorter than one slot.",
    ),
    "schedule_kind_unknown": (
        "该地区政策中没有这种献血类型。",
        "The region's policy has no such donation kind.",
    ),
    "schedule_kind_undecided": (
        "该献血类型的规则尚待核实，暂不能开放预约。",
        "This kind's rules are not settled yet, so it cannot be booked.",
    ),
    "schedule_no_places": ("每个时段至少要有一个名额。", "Give at least one place per slot."),
    "schedule_day_past": ("不能更改已过去的日期。", "A past day cannot be changed."),
    "date_range_invalid": (
        "日期范围无效（结束不能早于开始，且最多31天）。",
        "The date range is invalid (end before start, or more than 31 days).",
    ),
    "point_incomplete": ("请同时提供纬度和经度。", "Give both latitude and longitude."),
    "slot_not_found": ("该预约时段不存在。", "No such slot."),
    "slot_full": (
        "该时段已约满，可以加入当天的候补名单。",
        "This slot is full; you can join the day's waiting list.",
    ),
    "slot_closed": ("该时段已停止预约。", "This slot no longer takes bookings."),
    "slot_beyond_horizon": ("该时段尚未开放预约。", "This slot is not open for booking yet."),
    "already_booked": (
        "您已有一个有效预约，请先取消或改约。",
        "You already have an active booking; cancel or reschedule it first.",
    ),
    "not_eligible_on_date": (
        "按献血规定，您在该日期还不能献血，请选择可献血日期之后的时段。",
        "You may not donate on that date under the rules; choose a slot after the date shown.",
    ),
    "booking_not_found": ("未找到该预约。", "No such booking."),
    "booking_not_active": ("该预约已不能更改。", "This booking can no longer be changed."),
    "change_window_closed": (
        "距预约时间太近，无法在线取消或改约，请致电献血点。",
        "Too close to the appointment to change it online; please call the site.",
    ),
    "no_show_too_early": (
        "预约时间还未开始，不能标记为未到。",
        "The appointment has not started yet.",
    ),
    "waitlist_places_available": (
        "该日还有空余名额，请直接预约。",
        "There are free places that day; book one directly.",
    ),
    "waitlist_not_offered": (
        "该献血点当日不提供此类献血预约。",
        "The site offers no bookings of this kind that day.",
    ),
    "waitlist_already_joined": ("您已在该候补名单中。", "You are already on this waiting list."),
    "waitlist_limit": (
        "您参加的候补名单已达上限。",
        "You are on as many waiting lists as allowed.",
    ),
    "waitlist_entry_not_found": ("未找到该候补记录。", "No such waiting-list entry."),
    "offer_not_open": ("该候补当前没有为您保留的名额。", "No place is held for you on this entry."),
    "offer_expired": (
        "为您保留的名额已过期，已顺延给下一位候补者。",
        "The place held for you has expired and passed to the next donor in line.",
    ),
    "questionnaire_not_in_force": (
        "当前没有生效的健康问卷，请咨询献血点工作人员。",
        "No health questionnaire is in force; please ask the staff.",
    ),
    "questionnaire_outdated": (
        "健康问卷已更新，请按新版本重新填写。",
        "The questionnaire has changed; please answer the current version.",
    ),
    "questionnaire_incomplete": (
        "请逐一回答问卷中的每个问题。",
        "Answer every question of the form, once each.",
    ),
    "questionnaire_unknown_question": ("问卷中没有这个问题。", "The form has no such question."),
    "answer_date_required": (
        "回答“是”时请填写相关日期。",
        "Give the date this question asks for when you answer yes.",
    ),
    "answer_date_not_needed": (
        "回答“否”时不需要填写日期。",
        "No date is needed when you answer no.",
    ),
    "answer_date_in_future": ("日期不能晚于今天。", "The date cannot be later than today."),
    "consent_required": (
        "请阅读并同意献血知情同意书。",
        "Read and agree to the donor consent to continue.",
    ),
    "questionnaire_not_found": ("您还没有填写健康问卷。", "You have not answered the form yet."),
    "checkin_code_invalid": (
        "签到码无效，请让献血者刷新后重新出示。",
        "This check-in code is not valid; ask the donor to refresh it.",
    ),
    "checkin_code_expired": (
        "签到码已过期，请让献血者刷新后重新出示。",
        "This check-in code has expired; ask the donor to refresh it.",
    ),
    "checkin_code_used": (
        "该签到码已被使用，请让献血者刷新后重新出示。",
        "This check-in code was already used; ask the donor to refresh it.",
    ),
    "checkin_code_or_id_number": (
        "请提供签到码或身份证号其中之一。",
        "Give either the check-in code or the ID number.",
    ),
    "visit_not_found": ("未找到该到访记录。", "No such visit."),
    "visit_not_open": ("该到访已结束。", "This visit is already closed."),
    "visit_other_site": ("该到访不属于此献血点。", "This visit belongs to another site."),
    "donation_donor_or_visit": (
        "请提供献血者身份证号或到访记录其中之一。",
        "Give either the donor or the visit, not both.",
    ),
    # (end of appointments)
    # rewards: totals, benefits, benefit codes, gates
    "region_unknown": ("没有该地区的政策。", "No policy for this region."),
    "award_unknown": ("该地区不认可此奖项代码。", "This award is not known in the region."),
    "award_period_invalid": (
        "表彰年度应为“2022-2023”或“2023”这样的格式。",
        "The award period is like 2022-2023 or 2023.",
    ),
    "awarded_in_future": ("表彰日期不能晚于今天。", "The award date is in the future."),
    "award_already_recorded": (
        "该献血者此年度的该奖项已登记。",
        "This award for this period is already recorded.",
    ),
    "award_already_revoked": ("该奖项记录已撤销。", "This award record is already revoked."),
    "benefit_route_unavailable": (
        "该地区没有可申请的“三免”途径。",
        "The region offers no three-frees route to apply for.",
    ),
    "no_three_free": ("该地区没有“三免”政策。", "The region has no three-frees policy."),
    "no_application": ("该地区不受理申请。", "The region takes no applications."),
    "no_benefit_held": (
        "您目前未享有“三免”优待，无法生成优待码。",
        "You hold no three-frees benefit, so there is no benefit code.",
    ),
    "benefit_kind_unknown": (
        "该地区的“三免”政策中没有此项优待。",
        "The region's three frees have no such benefit.",
    ),
    "operator_inactive": ("该运营单位已停用。", "This operator is deactivated."),
    "device_revoked": ("该设备已吊销。", "This device is revoked."),
    "gate_not_registered": (
        "该设备未登记到任何运营单位。",
        "This device is not registered to an operator.",
    ),
    "usage_range_invalid": ("结束日期不能早于开始日期。", "The end date is before the start."),
    "usage_range_too_long": ("查询区间过长。", "The date range is too long."),
    "offline_batch_too_large": ("一次上传的记录过多。", "Too many uses in one upload."),
    # what a gate shows (reason codes of POST /gate/verify)
    "gate_allowed": ("核验通过，请通行。", "Admitted."),
    "gate_code_invalid": ("无效的优待码。", "Not a valid benefit code."),
    "gate_code_expired": ("优待码已过期，请刷新后重试。", "The code has expired; refresh it."),
    "gate_wrong_region": ("该优待码不适用于本地区。", "The code is for another region."),
    "gate_wrong_kind": ("该优待码不含本处的优待项目。", "The code does not cover this benefit."),
    "gate_not_held": ("持码人目前未享有该优待。", "The holder does not hold this benefit now."),
    "gate_replayed": ("该优待码已使用，请刷新后重试。", "This code was already used."),
    "gate_operator_required": (
        "闸机必须属于一个运营单位，请指定运营单位编号。",
        "A gate belongs to a gate operator: give the operator's id.",
    ),
    "gate_operator_unknown": ("没有该编号的运营单位。", "There is no gate operator with this id."),
    "benefit_kind_not_operators": (
        "该运营单位提供的不是这项优待。",
        "The operator admits holders to another benefit.",
    ),
    # (end of rewards)
    # notifications: outbox, templates, preferences, webhooks
    "unit_unknown": (
        "未找到该献血条码对应的有效献血记录。",
        "No valid donation has this donation number.",
    ),
    "unit_issue_conflict": (
        "该出库编号已登记为发往另一家医院。",
        "This issue was already reported for another hospital.",
    ),
    "issued_in_future": ("出库时间不能晚于当前时间。", "The issue time is in the future."),
    "message_not_retryable": (
        "该短信不能重发（未失败，或为验证码）。",
        "This message cannot be sent again (not failed, or a one-time code).",
    ),
    "appeal_ends_in_past": ("呼吁的截止日期已过。", "The appeal's end date has passed."),
    "signature_invalid": ("回调签名无效。", "The callback signature is invalid."),
    # (end of notifications)
    # faces: enrolment, verification, identification
    "face_image_base64": ("图片数据不是有效的 base64 编码。", "The image is not valid base64."),
    "face_image_format": ("请上传 JPEG 或 PNG 格式的照片。", "Send a JPEG or PNG image."),
    "face_image_unreadable": (
        "照片无法读取，可能已损坏，请重新拍摄。",
        "The image cannot be read; it may be damaged.",
    ),
    "face_image_too_large": (
        "照片过大，请压缩后重新上传。",
        "The image is too large; send a smaller one.",
    ),
    "face_not_found": (
        "照片中没有检测到人脸，请正对镜头、光线充足后重新拍摄。",
        "No face was found; face the camera in good light and try again.",
    ),
    "face_several": (
        "照片中有多张人脸，请确保只有本人入镜。",
        "Several faces were found; only the donor may be in the picture.",
    ),
    "face_too_small": (
        "人脸太小，请靠近镜头后重新拍摄。",
        "The face is too small; come closer to the camera.",
    ),
    "face_partial": (
        "人脸不完整，请让整张脸都在画面内。",
        "Part of the face is outside the picture; keep the whole face in view.",
    ),
    "face_consent_required": (
        "请先阅读并同意人脸核验授权。",
        "Read and accept the face-check consent first.",
    ),
    "face_consent_outdated": (
        "授权说明已更新，请阅读最新版本后再同意。",
        "The consent text has changed; read the current version and accept it.",
    ),
    "face_not_enrolled": ("该献血者未登记人脸。", "This donor has no enrolled face."),
    "face_photo_not_kept": ("您未选择保存照片。", "No photo is kept for this donor."),
    "face_burst_too_short": (
        "画面中人脸的帧数不足，请让献血者正对镜头并眨眼，重新拍摄。",
        "Too few frames show the face; have the donor face the camera, blink, and retake.",
    ),
    "face_burst_too_long": ("连拍帧数过多。", "Too many frames in the burst."),
    # liveness verdicts (staff-facing): what the burst showed
    "face_live_blink": ("检测到眨眼。", "A blink was seen."),
    "face_live_static_burst": (
        "各帧画面完全相同，疑似翻拍的静态照片。",
        "Every frame is the same picture: a replayed still.",
    ),
    "face_live_not_continuous": (
        "各帧不是同一段连续画面。",
        "The frames are not one continuous capture.",
    ),
    "face_live_faces_differ": ("各帧中的人脸不是同一人。", "The frames show different people."),
    "face_live_no_blink": (
        "未检测到眨眼，请献血者眨一下眼后重新拍摄。",
        "No blink was seen; ask the donor to blink and retake.",
    ),
    # identification outcomes (staff-facing)
    "face_id_identified": (
        "找到一位匹配的献血者，请其本人报出姓名和出生年份确认。",
        "One donor matches; ask them to state their name and birth year.",
    ),
    "face_id_no_candidates": (
        "今日没有可比对的已登记人脸。",
        "No enrolled face to compare with today.",
    ),
    "face_id_no_match": ("没有匹配的献血者，请核验身份证件。", "No donor matches; check an ID."),
    "face_id_ambiguous": (
        "有多位相似的献血者，无法确定，请核验身份证件。",
        "Several donors look alike; check an ID.",
    ),
    "face_id_liveness_failed": (
        "未通过活体检测，未进行识别。",
        "The burst did not show a live face, so no search was made.",
    ),
    # (end of faces)
}

# Chinese for marshmallow's and webargs' stock field messages, so per-field details follow the
# caller's language too. Unknown messages pass through unchanged.
FIELD_MESSAGES_ZH: dict[str, str] = {
    "Missing data for required field.": "此字段必填。",
    "Unknown field.": "未知字段。",
    "Field may not be null.": "此字段不能为空。",
    "Not a valid string.": "应为字符串。",
    "Not a valid integer.": "应为整数。",
    "Not a valid number.": "应为数字。",
    "Not a valid boolean.": "应为布尔值。",
    "Not a valid date.": "日期格式无效。",
    "Not a valid datetime.": "时间格式无效。",
    "Not a valid list.": "应为列表。",
    "Not a valid mapping type.": "应为对象。",
    "Invalid input type.": "类型无效。",
    "Invalid value.": "取值无效。",
    "Invalid JSON body.": "请求体不是有效的 JSON。",
    "Shorter than minimum length 1.": "不能为空。",
    "Special numeric values (nan or infinity) are not permitted.": "不允许特殊数值。",
    "String does not match expected pattern.": "格式不正确。",
    "Not a valid email address.": "邮箱格式不正确。",
}

# Stock messages that carry values ("Must be one of: A, B."), matched by their start.
FIELD_MESSAGE_PREFIXES_ZH: tuple[tuple[str, str], ...] = (
    ("Must be one of", "取值无效，"),
    ("Length must be", "长度不符合要求，"),
    ("Longer than maximum length", "内容过长，"),
    ("Shorter than minimum length", "内容过短，"),
    ("Must be greater than or equal to", "数值过小，"),
    ("Must be less than or equal to", "数值过大，"),
    ("Must be greater than", "数值过小，"),
    ("Must be less than", "数值过大，"),
)
