"""`POST /v1/vision/analyze`: one photo in (multipart), one `SkinAnalysis` out.

Stateless on purpose: nothing is stored here, because this API does not yet know who is calling.
Recording to a customer's history (and keeping the photo, with consent) happens where identity is
verified: the channel layer and the assistant call `vision.service.analyze_and_record`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse

from api.deps import SettingsDep
from api.errors import error_body
from skinsage.errors import PhotoRejected, PhotoTooLarge, UnsupportedPhotoType
from skinsage.settings import Settings
from vision.models import SkinAnalysis

router = APIRouter(prefix="/v1/vision", tags=["vision"])
STATUS: dict[type[PhotoRejected], int] = {PhotoTooLarge: 413, UnsupportedPhotoType: 415}
ERROR_DOC = {"description": "error envelope; `details.advice` says what to do"}


def _analyzer(request: Request, settings: Settings) -> Any:
    analyzer = getattr(request.app.state, "vision_analyzer", None)
    if analyzer is None:
        from vision.service import build_analyzer

        analyzer = request.app.state.vision_analyzer = build_analyzer(settings)
    return analyzer


@router.post("/analyze", response_model=SkinAnalysis,
             responses={413: ERROR_DOC, 415: ERROR_DOC, 422: ERROR_DOC})
def analyze(request: Request, settings: SettingsDep,
            photo: Annotated[UploadFile, File(description="a JPEG, PNG or WebP selfie")]) -> Any:
    """Quality gate, per-region skin measurements and concern findings for one selfie."""
    limit = int(settings.vision_max_upload_mb * 1024 * 1024)
    data = photo.file.read(limit + 1)  # never more than one byte past the limit into memory
    try:
        if len(data) > limit:
            raise PhotoTooLarge("too_large", f"The file is over the {settings.vision_max_upload_mb:g} MB "
                                "limit.", ["Send the photo at normal size."])
        return _analyzer(request, settings).analyze(data)
    except PhotoRejected as e:
        return JSONResponse(error_body(e.code, str(e), {"advice": e.advice, "failed": e.failed}),
                            status_code=STATUS.get(type(e), 422))
