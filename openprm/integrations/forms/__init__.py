"""Forms of the import pages."""

from openprm.integrations.forms.imports import (
    DealImportOptionsForm,
    DealImportUploadForm,
    ImportConfirmForm,
    ImportUploadForm,
)

__all__ = ["DealImportOptionsForm", "DealImportUploadForm", "ImportConfirmForm", "ImportUploadForm"]
