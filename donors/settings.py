"""Donors' operational settings: face matching, liveness and their limits.

Merged into the configuration at start-up, before the environment is applied (core.config:
load_config, from app.create_app); the environment may set those named in `from_environment`.
"""

from core.config import PackageSettings

SETTINGS = PackageSettings(
    defaults={
        # Distances between dlib face encodings (smaller is more alike; the library's default cut is
        # 0.6). Measured in bench/faces.py: see its table before changing them.
        "FACE_MATCH_THRESHOLD": 0.5,  # 1:1 at check-in
        # 1:N: stricter, as every extra candidate is a chance to err
        "FACE_IDENTIFY_THRESHOLD": 0.45,
        "FACE_IDENTIFY_MARGIN": 0.1,  # the best must beat the second best by this much
        "FACE_PHOTO_MAX_BYTES": 4 * 1024 * 1024,  # one decoded enrolment photo
        "FACE_BURST_MAX_BYTES": 4 * 1024 * 1024,  # all frames of one burst, decoded
        "FACE_IMAGE_MAX_PIXELS": 40_000_000,  # refused before decoding (decompression bombs)
        "FACE_ENROL_MAX_SIDE": 1024,  # photos are analysed at most this many pixels wide or high
        "FACE_FRAME_MAX_SIDE": 640,  # live frames likewise (a 640x480 capture is kept as it is)
        "FACE_MIN_FACE_PIXELS": 80,  # smaller faces encode poorly
        "FACE_BURST_MIN_FRAMES": 5,  # frames showing the face, about a second of capture
        "FACE_BURST_MAX_FRAMES": 20,
        "FACE_BURST_ENCODED_FRAMES": 3,  # open-eyed frames encoded (~85 ms each on one core)
        "FACE_BURST_SAME_FACE_THRESHOLD": 0.6,  # frames of one burst: the library's "same person"
        "FACE_BURST_MIN_OVERLAP": 0.5,  # face boxes of consecutive frames: one continuous capture
        "FACE_BLINK_CLOSED_FRACTION": 0.7,  # eyes shut: aspect ratio below 70 % of the open level
        "FACE_BLINK_REOPEN_FRACTION": 0.9,  # and open again (90 %) before and after
        "FACE_KEPT_PHOTO_MAX_SIDE": 640,  # a photo the donor asked us to keep
        "FACE_ENROL_RATE_LIMIT": "20/hour",  # per donor: each attempt costs ~0.3 s of CPU
        # Per staff member, 1:1 checks and 1:N searches together: a busy donation house sees a few
        # dozen donors an hour; a stolen staff token must not become a face-search engine.
        "FACE_STAFF_RATE_LIMIT": "120/hour",
        # An uploaded document (a photographed bill, a household register page): a phone photo
        # is 2-4 MB; a scanned PDF of a few pages fits too.
        "DOCUMENT_MAX_BYTES": 8 * 1024 * 1024,
        # The body of an upload request: the document and the multipart form around it.
        "DOCUMENT_REQUEST_MAX_BYTES": 8 * 1024 * 1024 + 64 * 1024,
        # Relatives a donor may have declared at once (removed links do not count). Operational,
        # not a regulation: the widest relation list (Shandong's eight relations) seldom names
        # more than a dozen people, and a cap keeps the review queue from being flooded.
        "FAMILY_LINKS_MAX": 20,
    },
    from_environment=(),
)
