from pydantic import BaseModel


class RepublishResult(BaseModel):
    staged: int  # assessment events staged for publication
