"""SQLModel tables. The schema itself is owned by the Alembic migrations."""

from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from forum.models.category import Category  # noqa: E402
from forum.models.community import Banner, BannerDismissal, BannerLevel  # noqa: E402
from forum.models.formkeys import FormSubmission  # noqa: E402
from forum.models.kb import Article, ArticleFeedback, ArticleStatus, SynonymLine  # noqa: E402
from forum.models.notifications import (  # noqa: E402
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxEmail,
    OutboxStatus,
    ThreadWatch,
)
from forum.models.related import JobRequest, RelatedItem, RelatedList  # noqa: E402
from forum.models.revision import PostRevision  # noqa: E402
from forum.models.search import FailedSearch, SearchDocument  # noqa: E402
from forum.models.spikes import TopicSpike  # noqa: E402
from forum.models.support import (  # noqa: E402
    ApiToken,
    AssignmentEvent,
    SlaTarget,
    SupportSettings,
    ThreadAssignment,
)
from forum.models.tags import CategoryTag, Tag, ThreadTag  # noqa: E402
from forum.models.thread import Post, Thread, ThreadKind, Vote  # noqa: E402
from forum.models.topics import (  # noqa: E402
    JobLease,
    SuggestionState,
    ThreadTerms,
    TopicBlob,
    TopicEvent,
    TopicMember,
    TopicRemoval,
    TopicRun,
    TopicSuggestion,
)
from forum.models.uploads import Upload, UploadPost  # noqa: E402
from forum.models.user import Role, User, UserSession  # noqa: E402

metadata = SQLModel.metadata

__all__ = ["Category", "Post", "Role", "Thread", "ThreadKind", "User", "UserSession", "Vote", "metadata"]
__all__ += ["ApiToken", "AssignmentEvent", "SlaTarget", "SupportSettings", "ThreadAssignment"]
__all__ += ["PostRevision"]
__all__ += ["Article", "ArticleFeedback", "ArticleStatus", "SynonymLine"]
__all__ += ["JobLease", "SuggestionState", "ThreadTerms", "TopicBlob", "TopicEvent", "TopicMember", "TopicRun"]
__all__ += ["TopicRemoval"]
__all__ += ["TopicSpike", "TopicSuggestion"]
__all__ += ["FailedSearch", "SearchDocument"]
__all__ += ["JobRequest", "RelatedItem", "RelatedList"]
__all__ += ["Notification", "NotificationKind", "NotificationPreference", "OutboxEmail", "OutboxStatus", "ThreadWatch"]
__all__ += ["FormSubmission"]
__all__ += ["Upload", "UploadPost"]
__all__ += ["CategoryTag", "Tag", "ThreadTag"]
__all__ += ["Banner", "BannerDismissal", "BannerLevel"]
