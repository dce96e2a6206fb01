from pydantic import BaseModel, Field


class RepublishResult(BaseModel):
    staged: int = Field(
        description="Events staged for publication: one per surveyed household of the round."
    )
