import yardcam.camera
import yardcam.motion


def test_camera_exports_are_pinned() -> None:
    assert yardcam.camera.__all__ == [
        "Crossing",
        "FolderSource",
        "Frame",
        "FrameHub",
        "FrameSource",
        "InvalidSource",
        "MjpegParser",
        "MjpegSource",
        "OpenCVSource",
        "SourceError",
        "SyntheticScene",
        "SyntheticSource",
        "boundary_from_content_type",
        "open_source",
    ]


def test_motion_exports_are_pinned() -> None:
    assert yardcam.motion.__all__ == [
        "ArchivePolicy",
        "ChangeMeter",
        "Event",
        "EventPhase",
        "MotionDetector",
        "MotionEvent",
        "Polygon",
        "Rect",
        "Zone",
        "parse_zone",
        "watch_mask",
    ]
