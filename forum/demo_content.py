"""Demo content for `forum demo`: a fictional product's support community in Korean and English.

Cloudnote is a made-up team note-taking and file-sync app (web, desktop and mobile apps, paid plans,
invoices, API keys, integrations). All people, addresses and numbers below are fictional.

Thread ``days_ago`` is how long ago the thread was posted; reply ``hours_after`` is measured from the
thread's creation. A few groups of threads deliberately ask the same thing in different words (refunds,
the desktop app crashing on start, sync conflicts, API key rotation) so that topic detection has
something to find; refunds have three Korean and three English threads and crashes three Korean ones,
enough for a suggestion (threads are grouped within their language: across languages, the encoders
cannot tell a shared subject from a merely related one).
"""

from __future__ import annotations

from typing import Any

CATEGORIES: list[dict[str, Any]] = [
    {
        "slug": "account",
        "name_ko": "계정 및 로그인",
        "name_en": "Account & login",
        "description_ko": "로그인, 비밀번호, 2단계 인증, 팀 초대와 계정 설정에 관한 질문",
        "description_en": "Signing in, passwords, two-factor authentication, team invites and account settings.",
    },
    {
        "slug": "billing",
        "name_ko": "결제 및 플랜",
        "name_en": "Billing & plans",
        "description_ko": "요금제 변경, 환불, 영수증과 세금계산서, 결제 수단",
        "description_en": "Plan changes, refunds, invoices, receipts and payment methods.",
    },
    {
        "slug": "apps",
        "name_ko": "데스크톱·모바일 앱",
        "name_en": "Desktop & mobile apps",
        "description_ko": "Windows, macOS, 모바일 앱 설치와 오류, 단축키, 화면 설정",
        "description_en": (
            "Installing and troubleshooting the Windows, macOS and mobile apps, shortcuts and appearance."
        ),
    },
    {
        "slug": "sync",
        "name_ko": "동기화 및 저장 공간",
        "name_en": "Sync & storage",
        "description_ko": "기기 간 동기화, 충돌 사본, 오프라인 모드, 저장 용량",
        "description_en": "Syncing between devices, conflicted copies, offline mode and storage limits.",
    },
    {
        "slug": "developers",
        "name_ko": "API 및 연동",
        "name_en": "API & integrations",
        "description_ko": "API 키, 웹훅, 요청 한도, Slack·Google 연동",
        "description_en": "API keys, webhooks, rate limits and integrations such as Slack and Google.",
    },
    {
        "slug": "community",
        "name_ko": "아이디어 및 팁",
        "name_en": "Ideas & tips",
        "description_ko": "기능 제안, 사용 팁, 템플릿 공유 등 자유로운 이야기",
        "description_en": "Feature ideas, workflow tips, templates and general discussion.",
    },
]

USERS: list[dict[str, Any]] = [
    {"username": "minji", "display_name": "김민지", "role": "member", "locale": "ko"},
    {"username": "hyun", "display_name": "박현우", "role": "member", "locale": "ko"},
    {"username": "seoyeon", "display_name": "이서연", "role": "member", "locale": "ko"},
    {"username": "jaeho", "display_name": "최재호", "role": "member", "locale": "ko"},
    {"username": "dahye", "display_name": "정다혜", "role": "member", "locale": "ko"},
    {"username": "taeyang", "display_name": "오태양", "role": "member", "locale": "ko"},
    {"username": "emily_r", "display_name": "Emily Reyes", "role": "member", "locale": "en"},
    {"username": "dkowalski", "display_name": "Dan Kowalski", "role": "member", "locale": "en"},
    {"username": "priya_n", "display_name": "Priya Nair", "role": "member", "locale": "en"},
    {"username": "tom_h", "display_name": "Tom Hughes", "role": "member", "locale": "en"},
    {"username": "support_jisoo", "display_name": "한지수 (Cloudnote 지원팀)", "role": "staff", "locale": "ko"},
    {"username": "support_mike", "display_name": "Mike Larsen (Cloudnote Support)", "role": "staff", "locale": "en"},
    {"username": "mod_yuna", "display_name": "윤유나", "role": "moderator", "locale": "ko"},
    {"username": "admin_sam", "display_name": "Sam Okafor", "role": "admin", "locale": "en"},
]

# Announcement banners (forum.services.banners): shown from ``starts_hours`` to ``ends_hours`` from now.
BANNERS: list[dict[str, Any]] = [
    {
        "level": "warning",
        "text_en": (
            "**Sync delays:** some notes take up to 30 minutes to reach your other devices while we repair a storage "
            "server. Nothing is lost. [Status page](https://status.cloudnote.example)"
        ),
        "text_ko": (
            "**동기화 지연 안내:** 저장 서버를 복구하는 동안 일부 노트가 다른 기기에 반영되기까지 최대 30분이 걸릴 수 "
            "있습니다. 데이터는 안전합니다. [상태 페이지](https://status.cloudnote.example)"
        ),
        "starts_hours": -2.0,
        "ends_hours": 24.0 * 7,
        "categories": [],
    },
]

THREADS: list[dict[str, Any]] = [
    {
        "category": "account",
        "author": "minji",
        "kind": "question",
        "title": "비밀번호 재설정 메일이 안 와요",
        "body": (
            "안녕하세요. 비밀번호를 까먹어서 로그인 화면에서 '비밀번호 재설정'을 눌렀는데 메일이 안 와요ㅠㅠ 벌써 세 "
            "번이나 눌렀고 한 시간 넘게 기다렸어요. 회사 메일로 가입했는데 혹시 그것 때문일까요?"
        ),
        "days_ago": 62.0,
        "views": 412,
        "replies": [
            {
                "author": "hyun",
                "body": (
                    "@minji 회사 메일이면 스팸 필터에 걸렸을 가능성이 커요. "
                    "저도 그랬는데 IT팀에 `no-reply@cloudnote.example` "
                    "허용해 달라고 하니까 바로 왔어요. 그 전에 스팸함이나 격리함(quarantine)도 한번 확인해 보세요."
                ),
                "hours_after": 2.5,
                "accepted": True,
                "official": False,
                "votes": ["minji", "seoyeon", "support_jisoo"],
            },
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, Cloudnote 지원팀 한지수입니다. 재설정 링크는 보낸 시점부터 1시간 동안만 유효하고, "
                    "여러 번 요청하시면 마지막 메일의 링크만 작동해요. 말씀해 주신 것처럼 발신 주소를 허용 목록에 "
                    "추가한 뒤 다시 요청해 보시고, 그래도 안 오면 가입하신 메일 주소를 문의 양식으로 보내주세요."
                ),
                "hours_after": 5.0,
                "accepted": False,
                "official": True,
                "votes": ["hyun"],
            },
            {
                "author": "minji",
                "body": "스팸 격리함에 다 들어가 있었네요;; 허용 요청하고 나서 바로 받았어요. 감사합니다!",
                "hours_after": 6.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "billing",
        "author": "seoyeon",
        "kind": "question",
        "title": "환불 받을 수 있나요?",
        "body": (
            "어제 프로 플랜 월간 결제를 했는데, 생각해보니 저한테는 무료 플랜으로도 충분할 것 같아요. 아직 프로 기능은 "
            "거의 안 써봤는데 환불 가능한가요? 가능하면 어디서 신청하는지도 알려주세요."
        ),
        "days_ago": 45.3,
        "views": 388,
        "replies": [
            {
                "author": "taeyang",
                "body": (
                    "제가 알기로는 결제하고 일정 기간 안에는 환불해 준다고 들었어요. 정확한 기간은 지원팀에서 답해 "
                    "주실 거예요."
                ),
                "hours_after": 1.2,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀 한지수입니다.\n"
                    "\n"
                    "결제일로부터 **14일 이내**라면 사용 여부와 관계없이 전액 환불해 드려요. 신청 방법은 다음과 "
                    "같아요.\n"
                    "\n"
                    "1. 웹에서 **설정 → 결제 및 플랜**으로 이동\n"
                    "2. 최근 결제 내역 옆의 **환불 요청** 클릭\n"
                    "3. 사유 선택 후 제출\n"
                    "\n"
                    "보통 영업일 기준 3~5일 안에 결제하신 카드로 취소 처리돼요. 환불이 완료되면 워크스페이스는 "
                    "자동으로 무료 플랜으로 전환됩니다."
                ),
                "hours_after": 4.0,
                "accepted": True,
                "official": True,
                "votes": ["seoyeon", "taeyang", "minji"],
            },
            {
                "author": "seoyeon",
                "body": "바로 신청했어요. 친절한 답변 감사합니다 :)",
                "hours_after": 5.5,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "apps",
        "author": "emily_r",
        "kind": "question",
        "title": "Desktop app crashes on launch after update",
        "body": (
            "Since updating to 3.8.1 this morning, the desktop app on Windows 11 closes right after the splash screen. "
            "No error message, it just disappears. I've restarted the PC and tried running it as administrator. The "
            "web app works fine, so my account seems OK. Anyone else seeing this?"
        ),
        "days_ago": 30.1,
        "views": 640,
        "replies": [
            {
                "author": "dkowalski",
                "body": (
                    "Same here on Windows 10, started right after the 3.8.1 update. Rolling back isn't obvious either, "
                    "since the download page only offers the latest version. @support_mike is this a known issue?"
                ),
                "hours_after": 0.8,
                "accepted": False,
                "official": False,
                "votes": ["emily_r"],
            },
            {
                "author": "support_mike",
                "body": (
                    "Thanks for the reports, and sorry about this. 3.8.1 has a bug where a corrupted local cache makes "
                    "the app exit during startup. Until the fix ships:\n"
                    "\n"
                    "1. Quit Cloudnote completely (check the system tray).\n"
                    "2. Delete the folder `%APPDATA%\\Cloudnote\\Cache`. Your notes live on the server and in "
                    "`LocalStore`, so nothing is lost.\n"
                    "3. Start the app again.\n"
                    "\n"
                    "Version 3.8.2, which fixes this properly, is rolling out over the next day."
                ),
                "hours_after": 2.5,
                "accepted": True,
                "official": True,
                "votes": ["emily_r", "dkowalski", "priya_n", "tom_h"],
            },
            {
                "author": "emily_r",
                "body": "Deleting the Cache folder did it. Thanks @support_mike for the quick answer!",
                "hours_after": 3.4,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "sync",
        "author": "jaeho",
        "kind": "question",
        "title": "동기화 충돌 사본이 계속 생겨요",
        "body": (
            "노트 목록에 '(충돌 사본)' 붙은 노트가 자꾸 생겨요. 회사 데스크톱이랑 노트북 둘 다 쓰고 있는데, 같은 "
            "노트를 동시에 연 적은 없는 것 같거든요. 매번 수동으로 합치는 것도 일이라서요... 왜 생기는 건지 알 수 "
            "있을까요?"
        ),
        "days_ago": 55.7,
        "views": 503,
        "replies": [
            {
                "author": "taeyang",
                "body": (
                    "혹시 노트북 덮개 닫아서 절전 모드로 두시나요? 저도 똑같았는데, 노트북에 열어둔 노트가 나중에 "
                    "깨어나면서 예전 버전을 올리니까 충돌로 잡히더라고요. 노트북에서 작업 끝나면 앱을 완전히 종료하는 "
                    "습관을 들이고 나서는 거의 안 생겨요."
                ),
                "hours_after": 3.0,
                "accepted": True,
                "official": False,
                "votes": ["jaeho", "hyun", "dahye"],
            },
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀입니다. 위 답변이 정확해요. 두 기기에서 마지막 동기화 이후 같은 노트가 각각 "
                    "수정되면, 데이터를 잃지 않으려고 한쪽을 충돌 사본으로 남겨요. **설정 → 동기화**에서 '시작 시 항상 "
                    "최신 버전 가져오기'를 켜두시면 발생 빈도를 줄일 수 있어요."
                ),
                "hours_after": 7.0,
                "accepted": False,
                "official": True,
                "votes": ["jaeho"],
            },
            {
                "author": "jaeho",
                "body": "아 절전 모드가 원인이었네요. 하루 써봤는데 충돌 사본 안 생겼어요. 감사합니다!",
                "hours_after": 20.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "developers",
        "author": "dkowalski",
        "kind": "question",
        "title": "How to rotate API keys without downtime?",
        "body": (
            "Our security policy requires rotating API keys every 90 days. We have a sync script that runs every 5 "
            "minutes against the Cloudnote API. If I regenerate the key in the dashboard, does the old one stop "
            "working immediately? I'd rather not break the integration in the middle of the workday."
        ),
        "days_ago": 40.2,
        "views": 277,
        "replies": [
            {
                "author": "support_mike",
                "body": (
                    "Good question. Regenerating a key revokes the old one immediately, so don't use *Regenerate* for "
                    "this. Instead:\n"
                    "\n"
                    "1. Go to **Settings → API keys** and click **Create key** (a workspace can have up to 5 active "
                    "keys).\n"
                    "2. Deploy the new key to your script.\n"
                    "3. Watch the *Last used* column until the old key stops showing activity.\n"
                    "4. Revoke the old key.\n"
                    "\n"
                    "That way both keys are valid during the switch-over."
                ),
                "hours_after": 4.0,
                "accepted": True,
                "official": True,
                "votes": ["dkowalski", "tom_h", "priya_n"],
            },
            {
                "author": "dkowalski",
                "body": "Perfect, that's exactly what I needed. Might be worth adding to the docs?",
                "hours_after": 6.5,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "support_mike",
                "body": "Already passed it on to the docs team :)",
                "hours_after": 9.0,
                "accepted": False,
                "official": False,
                "votes": ["dkowalski"],
            },
        ],
    },
    {
        "category": "account",
        "author": "dahye",
        "kind": "question",
        "title": "휴대폰 바꿨더니 2단계 인증 때문에 로그인을 못 해요",
        "body": (
            "안녕하세요. 폰을 새로 바꾸면서 OTP 앱을 옮기는 걸 깜빡했어요ㅠ 로그인하려니까 인증 코드를 입력하라는데 "
            "예전 폰은 이미 초기화해서 코드를 볼 방법이 없어요. 계정에 중요한 노트가 많아서 너무 걱정되네요. 어떻게 "
            "해야 하나요?"
        ),
        "days_ago": 18.4,
        "views": 233,
        "replies": [
            {
                "author": "minji",
                "body": (
                    "2단계 인증 켤 때 복구 코드 10개 주는 거 있었잖아요. 그거 어디 저장해 두셨으면 그걸로 들어갈 수 "
                    "있어요!"
                ),
                "hours_after": 1.0,
                "accepted": False,
                "official": False,
                "votes": ["dahye"],
            },
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀 한지수입니다. 복구 코드가 있으시면 로그인 화면에서 **'다른 방법으로 인증' → "
                    "'복구 코드 사용'**을 눌러 입력하시면 돼요. 복구 코드도 없으시면 가입 이메일로 본인 확인 절차를 "
                    "진행해야 하는데, 보안상 처리에 최대 48시간이 걸려요. 로그인하신 후에는 꼭 **설정 → 보안**에서 새 "
                    "기기로 OTP를 다시 등록해 주세요."
                ),
                "hours_after": 3.0,
                "accepted": True,
                "official": True,
                "votes": ["dahye", "minji"],
            },
            {
                "author": "dahye",
                "body": "비밀번호 관리자에 복구 코드 저장해 둔 걸 찾았어요!! 덕분에 들어왔어요 감사합니다",
                "hours_after": 4.2,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "billing",
        "author": "taeyang",
        "kind": "question",
        "title": "세금계산서 발행 가능한가요?",
        "body": (
            "회사 비용으로 팀 플랜 결제하려고 하는데요, 카드 영수증 말고 전자세금계산서로 받을 수 있는지 궁금합니다. "
            "사업자등록번호는 어디에 입력하면 되나요?"
        ),
        "days_ago": 25.0,
        "views": 190,
        "replies": [
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀입니다. 팀 플랜 이상은 전자세금계산서 발행이 가능해요. **설정 → 결제 → 청구 "
                    "정보**에서 사업자등록번호, 상호, 담당자 이메일을 입력하시면 다음 결제부터 매월 자동으로 "
                    "발행됩니다. 이미 결제된 건은 결제일이 속한 달 안에 요청하시면 소급 발행해 드려요."
                ),
                "hours_after": 6.0,
                "accepted": False,
                "official": True,
                "votes": ["taeyang", "jaeho"],
            },
            {
                "author": "taeyang",
                "body": (
                    "감사합니다. 근데 청구 정보 메뉴가 저한테는 안 보이는데, 워크스페이스 소유자만 볼 수 있는 건가요?"
                ),
                "hours_after": 8.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "account",
        "author": "priya_n",
        "kind": "question",
        "title": "Invite teammates without giving them admin rights",
        "body": (
            "I'm setting up a workspace for a 6-person team. When I invite people from the Members page they all seem "
            "to get full access to settings and billing. Is there a way to invite someone as a regular member? I don't "
            "want everyone to be able to change the plan."
        ),
        "days_ago": 70.3,
        "views": 351,
        "replies": [
            {
                "author": "tom_h",
                "body": (
                    "The invite dialog has a role dropdown next to the email field. It's easy to miss because it "
                    "defaults to whatever role you used last. Pick **Member** instead of **Admin**. For people you've "
                    "already invited, go to **Members**, click the `…` next to their name and choose *Change role*."
                ),
                "hours_after": 1.5,
                "accepted": True,
                "official": False,
                "votes": ["priya_n", "emily_r"],
            },
            {
                "author": "priya_n",
                "body": "Ha, it had remembered Admin from when I invited my co-founder. Fixed, thanks!",
                "hours_after": 2.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "apps",
        "author": "hyun",
        "kind": "question",
        "title": "앱이 자꾸 튕겨요",
        "body": (
            "맥 데스크톱 앱 쓰는데 켜고 한 1~2분 지나면 그냥 꺼져 버려요. 오류 메시지 같은 것도 없고요. 지난주까지는 "
            "멀쩡했는데 갑자기 이러네요. macOS 14.5, 앱 버전은 3.8.2예요."
        ),
        "days_ago": 12.2,
        "views": 298,
        "replies": [
            {
                "author": "seoyeon",
                "body": "저도 예전에 그랬는데 앱 삭제하고 다시 설치하니까 괜찮아졌어요. 한번 해보세요.",
                "hours_after": 2.0,
                "accepted": False,
                "official": False,
                "votes": ["hyun"],
            },
            {
                "author": "hyun",
                "body": "재설치 해봤는데 똑같아요ㅠ 혹시 로그 파일 같은 건 어디서 볼 수 있나요?",
                "hours_after": 5.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "jaeho",
                "body": (
                    "`~/Library/Logs/Cloudnote/` 폴더에 main.log 있을 거예요. 그거 지원팀에 보내면 원인 찾아줄 것 "
                    "같아요."
                ),
                "hours_after": 9.0,
                "accepted": False,
                "official": False,
                "votes": ["hyun"],
            },
        ],
    },
    {
        "category": "community",
        "author": "minji",
        "kind": "discussion",
        "title": "다크 모드 시간 예약 기능 있으면 좋겠어요",
        "body": (
            "밤에 쓸 때는 다크 모드가 편한데 낮에는 라이트 모드가 좋아서 매번 수동으로 바꾸고 있어요. '시스템 설정 "
            "따르기'도 있긴 한데, 회사 PC는 시스템 테마를 못 바꾸게 막혀 있어서요. 저녁 7시부터 아침 7시까지 이런 "
            "식으로 시간 지정할 수 있으면 좋겠습니다. 다른 분들도 필요하시면 댓글 남겨주세요!"
        ),
        "days_ago": 50.0,
        "views": 455,
        "replies": [
            {
                "author": "hyun",
                "body": "완전 공감해요. 저도 회사 PC 정책 때문에 시스템 따라가기가 안 먹혀요.",
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": ["minji", "dahye"],
            },
            {
                "author": "dahye",
                "body": "+1 그리고 에디터만 다크로 하고 사이드바는 라이트로 두는 옵션도 있으면 좋겠어요ㅎㅎ",
                "hours_after": 10.0,
                "accepted": False,
                "official": False,
                "votes": ["minji"],
            },
            {
                "author": "mod_yuna",
                "body": "아이디어 게시판에 올려주셔서 감사해요. 비슷한 요청이 많아서 이 글을 대표 글로 고정해 둘게요.",
                "hours_after": 26.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀입니다. 제품팀에 전달했고, 테마 시간 예약 기능은 다음 분기 로드맵 후보에 올라가 "
                    "있어요. 진행 상황이 생기면 이 글에 업데이트할게요."
                ),
                "hours_after": 50.0,
                "accepted": False,
                "official": True,
                "votes": ["minji", "hyun", "taeyang", "seoyeon"],
            },
        ],
    },
    {
        "category": "billing",
        "author": "tom_h",
        "kind": "question",
        "title": "How do I get a refund?",
        "body": (
            "I signed up for Pro last week to try the PDF annotation features, but they don't really fit how our team "
            "works. I can't find a refund button anywhere on the billing page. Is there a way to request one, or do I "
            "need to email someone?"
        ),
        "days_ago": 22.6,
        "views": 420,
        "replies": [
            {
                "author": "emily_r",
                "body": (
                    "It's under **Settings → Billing & plan**, but the *Request refund* link only shows up next to "
                    "payments made in the last 14 days, and only for the workspace owner. If you're not the owner you "
                    "won't see it. I did this a couple of months ago and the money was back on my card within a week."
                ),
                "hours_after": 1.7,
                "accepted": True,
                "official": False,
                "votes": ["tom_h", "dkowalski"],
            },
            {
                "author": "tom_h",
                "body": (
                    "I wasn't the owner, my colleague created the workspace. She found the link and the refund is "
                    "processing. Thanks!"
                ),
                "hours_after": 2.3,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "sync",
        "author": "seoyeon",
        "kind": "question",
        "title": "오프라인에서 쓴 노트가 사라졌어요",
        "body": (
            "비행기 안에서 노트북으로 노트를 몇 개 썼는데 착륙하고 와이파이 연결하니까 그 노트들이 안 보여요. 분명히 "
            "저장됐다고 떠 있었거든요. 복구할 방법 있을까요? 출장 보고서라서 꼭 필요해요..."
        ),
        "days_ago": 8.9,
        "views": 176,
        "replies": [
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀 한지수입니다. 많이 놀라셨죠. 오프라인에서 만든 노트는 동기화되기 전까지 기기의 "
                    "로컬 저장소에 남아 있어요. 아래 순서로 확인해 주세요.\n"
                    "\n"
                    "- 앱 왼쪽 아래 동기화 아이콘에 빨간 점이 있는지\n"
                    "- **설정 → 동기화 → 대기 중인 변경 사항**에 해당 노트가 있는지\n"
                    "- 휴지통에 들어가 있지 않은지\n"
                    "\n"
                    "대기 목록에 있다면 '지금 동기화'를 눌러주세요. 그래도 없으면 앱을 삭제하지 마시고 문의 양식으로 "
                    "연락 주세요."
                ),
                "hours_after": 2.0,
                "accepted": False,
                "official": True,
                "votes": ["seoyeon"],
            },
            {
                "author": "seoyeon",
                "body": (
                    "대기 중인 변경 사항에 3개 중 2개만 있어서 그건 살렸어요. 나머지 하나는 아직 못 찾았어요ㅠㅠ 문의 "
                    "남길게요."
                ),
                "hours_after": 3.5,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "developers",
        "author": "jaeho",
        "kind": "question",
        "title": "API 키 교체하는 방법",
        "body": (
            "회사 보안 점검에서 API 키를 주기적으로 바꾸라는 지적을 받았어요. 지금 키 하나로 사내 봇이랑 백업 스크립트 "
            "둘 다 돌리고 있는데, 키를 바꾸면 둘 다 동시에 수정해야 하나요? 서비스 중단 없이 바꾸는 방법이 있는지 "
            "궁금해요."
        ),
        "days_ago": 33.3,
        "views": 162,
        "replies": [
            {
                "author": "taeyang",
                "body": (
                    "키 '재발급'을 누르면 기존 키가 바로 죽으니까 그거 말고 **새 키 생성**을 하세요. 키를 여러 개 만들 "
                    "수 있어서 새 키로 하나씩 옮기고, 마지막 사용 시간 확인한 다음에 예전 키를 폐기하면 돼요. 그리고 "
                    "봇이랑 스크립트에 키를 따로 쓰는 게 나중에 관리하기도 편해요."
                ),
                "hours_after": 2.2,
                "accepted": True,
                "official": False,
                "votes": ["jaeho", "hyun"],
            },
            {
                "author": "jaeho",
                "body": "아 키를 여러 개 만들 수 있는 줄 몰랐어요. 용도별로 나눠서 만들었습니다. 감사해요!",
                "hours_after": 4.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "apps",
        "author": "dkowalski",
        "kind": "question",
        "title": "Keyboard shortcut to switch between notebooks?",
        "body": (
            "I live in the keyboard and switching notebooks with the mouse is slowing me down. `Ctrl+K` opens the "
            "quick switcher for notes, but I can't find anything for notebooks. Is there a hidden shortcut, or a way "
            "to define my own?"
        ),
        "days_ago": 60.0,
        "views": 210,
        "replies": [
            {
                "author": "priya_n",
                "body": (
                    "Not a dedicated shortcut as far as I know, but if you type `#` in the quick switcher it filters "
                    "to notebooks only. So `Ctrl+K`, `#`, then start typing the name."
                ),
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": ["dkowalski", "tom_h"],
            },
            {
                "author": "dkowalski",
                "body": "That helps, thanks. I'd still love custom keybindings though, that's really what I'm after.",
                "hours_after": 5.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "billing",
        "author": "dahye",
        "kind": "question",
        "title": "결제 취소하고 돈 돌려받고 싶어요",
        "body": (
            "연간 결제가 자동으로 갱신돼서 1년 치가 한 번에 빠져나갔어요. 갱신 알림 메일을 못 봤어요ㅠㅠ 올해는 거의 "
            "안 쓸 것 같아서 결제 취소하고 환불받고 싶은데 가능할까요? 갱신된 지는 3주 정도 됐어요."
        ),
        "days_ago": 15.4,
        "views": 301,
        "replies": [
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀 한지수입니다. 연간 플랜 자동 갱신 건은 원칙적으로 갱신일로부터 14일 이내에만 "
                    "전액 환불이 가능해서, 말씀하신 경우는 자동 환불 대상이 아니에요. 다만 갱신 후 사용 기록이 거의 "
                    "없으면 남은 기간에 대해 부분 환불을 검토해 드릴 수 있으니 **설정 → 결제 및 플랜 → 문의하기**로 "
                    "결제 번호를 보내주세요. 앞으로 자동 갱신을 원하지 않으시면 같은 화면에서 '자동 갱신 끄기'를 "
                    "해두시면 됩니다."
                ),
                "hours_after": 3.0,
                "accepted": False,
                "official": True,
                "votes": ["dahye", "seoyeon"],
            },
            {
                "author": "dahye",
                "body": "14일이 지나서 안 되는군요... 일단 결제 번호 보내봤어요. 답장 오면 여기도 공유할게요.",
                "hours_after": 5.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "sync",
        "author": "emily_r",
        "kind": "question",
        "title": 'Why do I keep getting "conflicted copy" notes?',
        "body": (
            "Every few days I find notes named like `Weekly plan (conflicted copy 2)` in my sidebar. I only use the "
            "web app and my phone, and I'm pretty sure I'm not editing the same note on both at once. Which version is "
            'the "real" one, and how do I stop this from happening?'
        ),
        "days_ago": 5.3,
        "views": 142,
        "replies": [
            {
                "author": "tom_h",
                "body": (
                    "The one without the suffix is the version that won on the server; the conflicted copy holds the "
                    "other device's edits. In my case it was the phone saving a stale copy in the background after "
                    "being offline on the subway."
                ),
                "hours_after": 4.0,
                "accepted": False,
                "official": False,
                "votes": ["emily_r"],
            },
            {
                "author": "priya_n",
                "body": (
                    "There's also a sync setting to always pull the latest version on start. It helped me a bit, but "
                    "didn't get rid of it completely."
                ),
                "hours_after": 7.5,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "emily_r",
                "body": "Turned that setting on and still got one today. I'll keep an eye on it.",
                "hours_after": 30.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "apps",
        "author": "taeyang",
        "kind": "question",
        "title": "실행하자마자 강제 종료돼요",
        "body": (
            "윈도우 노트북에서 클라우드노트 아이콘 더블클릭하면 창이 잠깐 떴다가 바로 꺼져요. 어제 그래픽 드라이버 "
            "업데이트한 거 말고는 바꾼 게 없어요. 재부팅도 해봤고 재설치도 해봤어요. 급하게 회의록 봐야 되는데 방법 "
            "없을까요?"
        ),
        "days_ago": 28.5,
        "views": 377,
        "replies": [
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀입니다. 그래픽 드라이버 업데이트 후에 이런 증상이 있다는 제보가 종종 있어요. "
                    "하드웨어 가속을 끄고 실행해 보세요.\n"
                    "\n"
                    "1. 바탕화면의 Cloudnote 바로가기를 우클릭 → **속성**\n"
                    "2. 대상 칸 맨 끝에 한 칸 띄우고 `--disable-gpu` 추가\n"
                    "3. 확인 후 그 바로가기로 실행\n"
                    "\n"
                    "실행되면 **설정 → 고급 → 하드웨어 가속 사용**을 꺼두시고, 그다음부터는 옵션 없이 실행하셔도 돼요. "
                    "급하시면 그사이에 웹 버전으로도 회의록을 보실 수 있어요."
                ),
                "hours_after": 1.5,
                "accepted": True,
                "official": True,
                "votes": ["taeyang", "hyun", "dahye"],
            },
            {
                "author": "taeyang",
                "body": "와 바로 되네요. 하드웨어 가속 껐어요. 빠른 답변 감사합니다!!",
                "hours_after": 2.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "hyun",
                "body": "저도 비슷한 증상인데 저는 맥이라 이 방법은 안 되겠네요ㅠ",
                "hours_after": 20.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "account",
        "author": "hyun",
        "kind": "question",
        "title": "회원 탈퇴는 어디서 하나요?",
        "body": (
            "다른 앱으로 옮기게 돼서 계정을 삭제하려고 하는데 설정 메뉴를 아무리 찾아봐도 탈퇴 버튼이 안 보여요. 혹시 "
            "모바일 앱에서는 안 되는 건가요?"
        ),
        "days_ago": 75.2,
        "views": 268,
        "replies": [
            {
                "author": "minji",
                "body": (
                    "모바일 앱에는 없고 웹에서만 돼요. **설정 → 계정** 맨 아래에 '계정 삭제' 있어요. 근데 워크스페이스 "
                    "소유자면 먼저 소유권을 다른 사람한테 넘기거나 워크스페이스를 삭제해야 버튼이 활성화돼요. 삭제 "
                    "전에 **내보내기**로 노트 백업 꼭 해두세요!"
                ),
                "hours_after": 1.0,
                "accepted": True,
                "official": False,
                "votes": ["hyun", "seoyeon", "mod_yuna"],
            },
            {
                "author": "hyun",
                "body": "웹에서 찾았어요. 백업도 해뒀습니다. 감사합니다~",
                "hours_after": 2.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "community",
        "author": "priya_n",
        "kind": "discussion",
        "title": "Share your favourite note templates",
        "body": (
            "I've been building up a small library of templates and thought it would be nice to swap ideas. Mine:\n"
            "\n"
            "- **Daily log**: three headings (Done / Doing / Blocked) plus a checklist that rolls over\n"
            "- **1:1 notes**: a table of open action items at the top, so nothing gets lost between meetings\n"
            "- **Bug report**: steps, expected, actual, and a code block for logs\n"
            "\n"
            "What are yours?"
        ),
        "days_ago": 35.0,
        "views": 512,
        "replies": [
            {
                "author": "tom_h",
                "body": (
                    "Meeting notes with the attendee list as @mentions at the top. Everyone gets notified and the note "
                    "shows up in their *Mentioned* view."
                ),
                "hours_after": 5.0,
                "accepted": False,
                "official": False,
                "votes": ["priya_n", "emily_r"],
            },
            {
                "author": "emily_r",
                "body": (
                    'A reading-notes template: source link, three key ideas, one quote, and "how I\'ll use this". '
                    "That last section is what makes it actually useful."
                ),
                "hours_after": 12.0,
                "accepted": False,
                "official": False,
                "votes": ["priya_n"],
            },
            {
                "author": "dkowalski",
                "body": (
                    "Decision records: context, options, decision, consequences. Borrowed it from software "
                    "architecture docs, but it works for any team."
                ),
                "hours_after": 30.0,
                "accepted": False,
                "official": False,
                "votes": ["priya_n", "tom_h", "admin_sam"],
            },
            {
                "author": "admin_sam",
                "body": (
                    "Love this thread. FYI you can publish templates to your whole workspace from **Templates → Share "
                    "with workspace**, and we're looking at a community template gallery later this year."
                ),
                "hours_after": 48.0,
                "accepted": False,
                "official": True,
                "votes": ["priya_n", "dkowalski"],
            },
        ],
    },
    {
        "category": "billing",
        "author": "minji",
        "kind": "question",
        "title": "프로에서 무료 플랜으로 내리면 데이터는 어떻게 되나요?",
        "body": (
            "지금 프로 플랜 쓰고 있는데 다음 달부터는 무료로 바꾸려고요. 근데 무료 플랜 저장 용량이 5GB인데 저는 지금 "
            "12GB 정도 쓰고 있거든요. 다운그레이드하면 초과된 파일은 삭제되나요?"
        ),
        "days_ago": 42.0,
        "views": 245,
        "replies": [
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀입니다. 다운그레이드해도 파일이 삭제되지는 않아요! 다만 용량을 초과한 "
                    "상태에서는 이렇게 돼요.\n"
                    "\n"
                    "- 기존 노트와 파일은 모두 열람·다운로드 가능\n"
                    "- 새 파일 업로드와 첨부는 제한\n"
                    "- 텍스트 노트 작성과 편집은 계속 가능\n"
                    "\n"
                    "다운그레이드는 현재 결제 기간이 끝나는 날 적용되니까 그 전에 필요 없는 첨부 파일을 정리하시면 "
                    "돼요."
                ),
                "hours_after": 5.0,
                "accepted": True,
                "official": True,
                "votes": ["minji", "dahye"],
            },
            {
                "author": "minji",
                "body": "삭제 안 된다니 다행이에요. 큰 동영상 파일만 정리하면 될 것 같네요!",
                "hours_after": 6.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "developers",
        "author": "tom_h",
        "kind": "question",
        "title": "Regenerated our API key but the old one still works?",
        "body": (
            "I hit *Regenerate* on our integration key about 10 minutes ago and our staging server is still happily "
            "making requests with the old key. I expected it to be revoked right away. Is there a delay, or did the "
            "regenerate not take effect? A bit worrying from a security standpoint."
        ),
        "days_ago": 10.1,
        "views": 134,
        "replies": [
            {
                "author": "support_mike",
                "body": (
                    "Hi Tom, revocation takes effect immediately in our auth database, but API edge nodes may cache a "
                    "key's validity for up to 5 minutes. After that window the old key returns `401 invalid_api_key`. "
                    "If you still see successful requests with the old key after that, please send us the request IDs "
                    "from the `X-Request-Id` response header so we can investigate."
                ),
                "hours_after": 1.0,
                "accepted": False,
                "official": True,
                "votes": ["tom_h", "dkowalski"],
            },
            {
                "author": "tom_h",
                "body": (
                    "It's been well over 5 minutes now and the requests still go through. I'll collect some request "
                    "IDs and open a ticket."
                ),
                "hours_after": 1.5,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "sync",
        "author": "dahye",
        "kind": "question",
        "title": "노트가 두 개로 복제돼요",
        "body": (
            "태블릿이랑 노트북에서 같이 쓰는데 어떤 노트는 제목 뒤에 '충돌'이라고 붙은 게 하나 더 생겨요. 내용은 거의 "
            "같은데 몇 줄만 달라요. 어느 쪽이 최신인지도 헷갈리고... 이거 버그인가요?"
        ),
        "days_ago": 3.1,
        "views": 58,
        "replies": [
            {
                "author": "jaeho",
                "body": (
                    "버그는 아니고 동기화 충돌이에요. 저도 전에 같은 질문 올렸었는데 그 글 답변 참고해 보세요. 저는 "
                    "노트북 절전 모드가 원인이었어요."
                ),
                "hours_after": 2.5,
                "accepted": False,
                "official": False,
                "votes": ["dahye"],
            },
            {
                "author": "dahye",
                "body": "저는 노트북 잘 끄고 다니는데도 생기네요ㅠ 태블릿 쪽이 문제인가 싶기도 하고요.",
                "hours_after": 6.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "developers",
        "author": "seoyeon",
        "kind": "question",
        "title": "슬랙 연동했는데 알림이 안 와요",
        "body": (
            "팀 워크스페이스에 Slack 연동을 추가했어요. '연결됨'이라고는 뜨는데 노트에 댓글이 달려도 슬랙 채널에 "
            "아무것도 안 올라와요. 권한 문제일까요?"
        ),
        "days_ago": 20.3,
        "views": 189,
        "replies": [
            {
                "author": "jaeho",
                "body": (
                    "연동 설정에서 채널만 고르고 알림 이벤트를 안 고르셨을 수도 있어요. 기본값이 '없음'이더라고요. "
                    "**설정 → 연동 → Slack → 알림 규칙**에서 '댓글', '멘션' 같은 이벤트 체크해 보세요. 그리고 비공개 "
                    "채널이면 채널에 Cloudnote 앱을 `/invite`로 초대해야 돼요."
                ),
                "hours_after": 1.8,
                "accepted": True,
                "official": False,
                "votes": ["seoyeon", "minji", "taeyang"],
            },
            {
                "author": "seoyeon",
                "body": "이벤트가 하나도 체크 안 되어 있었네요ㅎㅎ 이제 바로 알림 와요. 감사합니다!",
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "account",
        "author": "emily_r",
        "kind": "question",
        "title": "Single sign-on with Google Workspace?",
        "body": (
            "Our company uses Google Workspace for everything and IT would like everyone to sign in to Cloudnote with "
            "their company Google account instead of separate passwords. Is SSO supported, and which plan do we need? "
            "Ideally we'd also like to block password logins entirely."
        ),
        "days_ago": 48.8,
        "views": 302,
        "replies": [
            {
                "author": "support_mike",
                "body": (
                    "Hi Emily! *Sign in with Google* is available on every plan, but enforcing it for the whole "
                    "workspace (and disabling password logins) is part of the Business plan's SSO settings. On "
                    "Business, an admin can go to **Settings → Security → Single sign-on**, verify your domain and "
                    "switch on *Require SSO*. Details are in the [SSO setup guide](https://help.cloudnote.example/sso)."
                ),
                "hours_after": 6.0,
                "accepted": False,
                "official": True,
                "votes": ["emily_r", "priya_n"],
            },
            {
                "author": "emily_r",
                "body": "Thanks. Business is a big jump in price for us, so I'll need to take this back to IT.",
                "hours_after": 8.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "apps",
        "author": "jaeho",
        "kind": "question",
        "title": "모바일 앱에서 PDF 미리보기가 안 돼요",
        "body": (
            "안드로이드 앱에서 첨부한 PDF를 누르면 회색 화면만 나오고 로딩이 끝나지 않아요. 웹이나 PC에서는 잘 "
            "열리고요. 파일 크기는 20MB 정도예요. 저만 그런가요?"
        ),
        "days_ago": 1.4,
        "views": 27,
        "replies": [],
    },
    {
        "category": "billing",
        "author": "dkowalski",
        "kind": "question",
        "title": "Accidentally bought the annual plan, can I get my money back?",
        "body": (
            "I meant to choose monthly billing and clicked annual by mistake, so I was charged for a full year an hour "
            "ago. Can this be reversed? I'm happy to stay on Pro, just paying monthly."
        ),
        "days_ago": 64.5,
        "views": 233,
        "replies": [
            {
                "author": "support_mike",
                "body": (
                    "No problem, this happens more often than you'd think. Since it's within 14 days you can do it "
                    "yourself: **Settings → Billing & plan → Change billing cycle → Monthly**. The annual charge is "
                    "refunded in full and the first monthly payment is taken right away, so your Pro features aren't "
                    "interrupted. The refund usually shows up in 3-5 business days."
                ),
                "hours_after": 2.0,
                "accepted": True,
                "official": True,
                "votes": ["dkowalski", "tom_h"],
            },
            {
                "author": "dkowalski",
                "body": "Done, and the refund confirmation email is already here. Thanks Mike!",
                "hours_after": 2.8,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "billing",
        "author": "priya_n",
        "kind": "question",
        "title": "Can I cancel and get my money back for this month?",
        "body": (
            "We moved our team to Pro on the 3rd, but half of them will keep using their old tool after all, so we "
            "don't need it. Can I cancel now and get this month's payment refunded, or does the plan just run until "
            "the end of the month?"
        ),
        "days_ago": 11.2,
        "views": 188,
        "replies": [
            {
                "author": "support_mike",
                "body": (
                    "Yes: a payment from the last 14 days is refunded in full when you cancel. As the workspace owner, "
                    "open **Settings → Billing & plan**, choose *Request refund* next to this month's payment, then "
                    "*Cancel plan*. The workspace moves to the Free plan at once (your notes stay), and the refund "
                    "reaches your card in 3-5 business days."
                ),
                "hours_after": 3.1,
                "accepted": True,
                "official": True,
                "votes": ["priya_n"],
            },
        ],
    },
    {
        "category": "community",
        "author": "taeyang",
        "kind": "discussion",
        "title": "자주 쓰는 단축키 모음 공유합니다",
        "body": (
            "클라우드노트 1년 넘게 쓰면서 손에 익은 단축키 정리해 봤어요. (윈도우 기준, 맥은 Ctrl → Cmd)\n"
            "\n"
            "- `Ctrl+K` : 빠른 이동(노트 검색)\n"
            "- `Ctrl+Shift+N` : 새 노트\n"
            "- `Ctrl+/` : 단축키 목록 보기\n"
            "- `Ctrl+Shift+C` : 체크박스\n"
            "- `Alt+↑/↓` : 줄 위아래로 이동\n"
            "\n"
            "특히 `Ctrl+/` 모르는 분들 많더라고요. 다른 분들 꿀팁 있으면 댓글로 추가해 주세요!"
        ),
        "days_ago": 38.0,
        "views": 620,
        "replies": [
            {
                "author": "minji",
                "body": "`Ctrl+/` 처음 알았어요ㅋㅋ 1년 동안 메뉴만 눌렀네요",
                "hours_after": 2.0,
                "accepted": False,
                "official": False,
                "votes": ["taeyang"],
            },
            {
                "author": "jaeho",
                "body": "`Ctrl+Shift+V`로 서식 없이 붙여넣기 되는 것도 좋아요. 웹에서 복사해 올 때 필수!",
                "hours_after": 6.0,
                "accepted": False,
                "official": False,
                "votes": ["taeyang", "seoyeon", "minji"],
            },
            {
                "author": "seoyeon",
                "body": "정리 감사합니다. 북마크 해둘게요~",
                "hours_after": 20.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "mod_yuna",
                "body": "유용한 글이라 팁 게시판 상단에 고정했어요 :)",
                "hours_after": 30.0,
                "accepted": False,
                "official": False,
                "votes": ["taeyang"],
            },
        ],
    },
    {
        "category": "account",
        "author": "seoyeon",
        "kind": "question",
        "title": "로그인 이메일 주소 바꿀 수 있나요?",
        "body": (
            "회사를 옮기면서 예전 회사 메일로 가입한 계정을 개인 메일로 바꾸고 싶어요. 설정에서 이메일 칸이 회색으로 "
            "잠겨 있어서 수정이 안 되네요."
        ),
        "days_ago": 58.0,
        "views": 140,
        "replies": [
            {
                "author": "hyun",
                "body": (
                    "저는 **설정 → 계정**에서 그냥 바뀌었는데... 혹시 예전 회사 워크스페이스가 SSO 쓰는 곳 아니었어요? "
                    "그럼 관리자가 잠가둔 걸 수도 있어요."
                ),
                "hours_after": 4.0,
                "accepted": False,
                "official": False,
                "votes": ["seoyeon"],
            },
            {
                "author": "seoyeon",
                "body": (
                    "맞아요 예전 회사가 구글 로그인 강제였어요. 근데 이미 퇴사해서 그 관리자한테 연락하기가 "
                    "애매하네요ㅠ"
                ),
                "hours_after": 7.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "apps",
        "author": "priya_n",
        "kind": "question",
        "title": "Dark mode on Android doesn't follow the system setting",
        "body": (
            "The Android app is set to *Follow system* for the theme, but it stays light even when my phone switches "
            "to dark mode at sunset. I have to force-close the app for it to pick up the change. Android 14, app "
            "version 5.2.0."
        ),
        "days_ago": 16.0,
        "views": 96,
        "replies": [
            {
                "author": "dkowalski",
                "body": "Same on my phone. I've just set it to Dark permanently as a workaround.",
                "hours_after": 6.0,
                "accepted": False,
                "official": False,
                "votes": ["priya_n"],
            },
            {
                "author": "tom_h",
                "body": (
                    "I think it only checks the theme at startup. The tablet app switches live, for what it's worth."
                ),
                "hours_after": 22.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "billing",
        "author": "hyun",
        "kind": "question",
        "title": "팀 플랜 중간에 인원 추가하면 요금은 어떻게 돼요?",
        "body": (
            "팀 플랜 5명으로 연간 결제해서 쓰고 있는데 이번 달에 2명이 새로 들어와요. 중간에 추가하면 1년 치를 다 내야 "
            "하는 건지, 남은 기간만큼만 내는 건지 궁금해요."
        ),
        "days_ago": 26.9,
        "views": 214,
        "replies": [
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀입니다. 중간에 추가하신 인원은 **남은 기간만큼 일할 계산**돼서 추가하는 시점에 "
                    "바로 청구돼요. 예를 들어 연간 갱신까지 6개월 남았다면 1인당 연간 요금의 절반 정도만 결제되는 "
                    "식이에요. 다음 갱신부터는 전체 인원 기준으로 청구됩니다."
                ),
                "hours_after": 4.5,
                "accepted": True,
                "official": True,
                "votes": ["hyun", "taeyang"],
            },
            {
                "author": "hyun",
                "body": "명확하네요. 감사합니다!",
                "hours_after": 6.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "sync",
        "author": "minji",
        "kind": "question",
        "title": "저장 공간이 꽉 찼다는데 실제로는 얼마 안 썼어요",
        "body": (
            "무료 플랜 5GB인데 용량 초과라고 업로드가 안 돼요. 근데 제 노트랑 첨부 파일 다 합쳐도 2GB도 안 될 것 "
            "같거든요? 용량 계산이 잘못된 건 아닌지..."
        ),
        "days_ago": 22.0,
        "views": 331,
        "replies": [
            {
                "author": "dahye",
                "body": (
                    "휴지통이랑 **파일 버전 기록**도 용량에 포함돼요! 저도 같은 걸로 고생했는데, **설정 → 저장 "
                    "공간**에서 항목별로 얼마나 쓰는지 볼 수 있어요. 휴지통 비우고 큰 파일의 옛날 버전 지우니까 3GB "
                    "넘게 확보됐어요."
                ),
                "hours_after": 2.0,
                "accepted": True,
                "official": False,
                "votes": ["minji", "hyun", "seoyeon", "taeyang"],
            },
            {
                "author": "minji",
                "body": "휴지통에만 2.4GB 있었네요ㅋㅋㅋ 비웠더니 해결됐어요. 감사해요!",
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "developers",
        "author": "tom_h",
        "kind": "question",
        "title": "Webhook payload is missing the note title",
        "body": (
            "We subscribed to the `note.updated` webhook, but the payload only contains `note_id`, `workspace_id` and "
            "`updated_at`. The example in the docs shows a `title` field too. Is that field only sent on some plans, "
            "or is the documentation out of date?\n"
            "\n"
            "```json\n"
            '{"event": "note.updated", "note_id": "n_8f2a", "workspace_id": "w_41c", "updated_at": '
            '"2024-05-02T09:14:03Z"}\n'
            "```"
        ),
        "days_ago": 0.6,
        "views": 12,
        "replies": [],
    },
    {
        "category": "apps",
        "author": "dahye",
        "kind": "question",
        "title": "윈도우에서 클라우드노트가 안 열려요",
        "body": (
            "어제까지 잘 쓰다가 오늘 아침에 켜니까 아이콘 눌러도 아무 반응이 없어요. 작업 관리자 보면 Cloudnote.exe가 "
            "잠깐 생겼다가 사라져요. 윈도우 11이고 최신 버전이에요."
        ),
        "days_ago": 6.7,
        "views": 121,
        "replies": [
            {
                "author": "taeyang",
                "body": (
                    "제가 저번에 비슷한 증상이었는데 바로가기에 `--disable-gpu` 붙여서 실행하니까 됐어요. 한번 "
                    "해보세요."
                ),
                "hours_after": 1.0,
                "accepted": False,
                "official": False,
                "votes": ["dahye"],
            },
            {
                "author": "dahye",
                "body": "해봤는데 저는 그래도 안 되네요ㅠ 혹시 캐시 폴더 지우는 방법은 어떻게 하나요?",
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "minji",
                "body": (
                    "영어 게시판에 `%APPDATA%\\Cloudnote\\Cache` 폴더 지우라는 답변 있었어요. 노트는 서버에 있어서 "
                    "지워도 괜찮대요."
                ),
                "hours_after": 5.0,
                "accepted": False,
                "official": False,
                "votes": ["dahye", "taeyang"],
            },
        ],
    },
    {
        "category": "account",
        "author": "dkowalski",
        "kind": "question",
        "title": "Export all my notes before cancelling?",
        "body": (
            "I'm planning to cancel and want a complete backup first. Is there a way to export everything at once, "
            "including attachments and the folder structure? Clicking export on each notebook would take forever, I "
            "have about 40 of them."
        ),
        "days_ago": 44.4,
        "views": 188,
        "replies": [
            {
                "author": "emily_r",
                "body": (
                    "**Settings → Data → Export workspace** gives you a zip with every notebook as a folder of "
                    "Markdown files plus attachments. You get an email once it's ready, which can take a while for big "
                    "workspaces."
                ),
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": ["dkowalski", "priya_n"],
            },
            {
                "author": "dkowalski",
                "body": (
                    "Got the zip, but links between notes point to `cloudnote://` URLs instead of the exported files. "
                    "Any way around that?"
                ),
                "hours_after": 26.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "developers",
        "author": "hyun",
        "kind": "question",
        "title": "API 요청 제한(rate limit)이 어떻게 되나요?",
        "body": (
            "사내 대시보드에서 노트 목록을 주기적으로 가져오려고 하는데, 가끔 `429 Too Many Requests`가 떠요. 플랜별로 "
            "분당 몇 번까지 호출할 수 있는지 알 수 있을까요? 문서에서 못 찾겠어요."
        ),
        "days_ago": 31.0,
        "views": 150,
        "replies": [
            {
                "author": "support_jisoo",
                "body": (
                    "안녕하세요, 지원팀입니다. 기본 한도는 **API 키당 분당 60회**, 팀 플랜 이상은 분당 300회예요. 응답 "
                    "헤더의 `X-RateLimit-Remaining`과 `Retry-After` 값을 보시고 재시도 간격을 조절하시면 돼요. 목록을 "
                    "자주 가져오셔야 하면 폴링 대신 웹훅을 쓰시는 걸 추천드려요."
                ),
                "hours_after": 5.0,
                "accepted": False,
                "official": True,
                "votes": ["hyun", "jaeho"],
            },
            {
                "author": "hyun",
                "body": (
                    "팀 플랜인데도 분당 100번 정도에서 429가 나는 것 같아요. 한도가 워크스페이스 단위로도 걸리나요?"
                ),
                "hours_after": 7.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "account",
        "author": "jaeho",
        "kind": "question",
        "title": "팀 초대 링크가 만료됐다고 나와요",
        "body": (
            "팀장님이 보내준 초대 링크를 눌렀더니 '초대가 만료되었거나 유효하지 않습니다'라고 떠요. 받은 지 하루밖에 "
            "안 됐는데요. 링크를 다시 받아야 하나요?"
        ),
        "days_ago": 9.5,
        "views": 73,
        "replies": [
            {
                "author": "minji",
                "body": (
                    "보낸 사람이 '초대 다시 보내기'를 누르면 예전 링크는 무효가 돼요. 혹시 팀장님이 두 번 보내셨을 "
                    "수도 있으니 가장 최근 메일의 링크로 해보세요."
                ),
                "hours_after": 2.0,
                "accepted": False,
                "official": False,
                "votes": ["jaeho"],
            },
            {
                "author": "jaeho",
                "body": "메일함엔 하나밖에 없어요ㅠ 팀장님께 다시 보내달라고 해야겠네요.",
                "hours_after": 4.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "sync",
        "author": "tom_h",
        "kind": "question",
        "title": "How much is available offline in the tablet app?",
        "body": (
            "I'm going on a long trip with spotty internet and want to make sure I can get to my notes. Does the "
            "tablet app keep everything offline, or only recently opened notes? What about attachments?"
        ),
        "days_ago": 52.0,
        "views": 267,
        "replies": [
            {
                "author": "priya_n",
                "body": "I think it's only recent notes by default? I remember having to toggle something.",
                "hours_after": 2.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
            {
                "author": "support_mike",
                "body": (
                    "By default the tablet app keeps the text of all notes offline, but attachments are only "
                    "downloaded when you open them. To make a whole notebook available offline including attachments, "
                    "long-press the notebook and choose **Make available offline**. You can see how much space that "
                    "takes under **Settings → Storage on this device**. Do this on Wi-Fi before you leave!"
                ),
                "hours_after": 3.0,
                "accepted": True,
                "official": True,
                "votes": ["tom_h", "priya_n", "emily_r"],
            },
            {
                "author": "tom_h",
                "body": "Exactly what I needed. Marked my two travel notebooks as offline. Thanks!",
                "hours_after": 5.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "billing",
        "author": "seoyeon",
        "kind": "question",
        "title": "영수증을 회사 이름으로 다시 받을 수 있나요",
        "body": (
            "지난달 결제 영수증에 제 개인 이름이 찍혀 있는데, 경비 처리하려면 회사명이 들어가야 한대요. 이미 발행된 "
            "영수증도 수정해서 다시 받을 수 있는지 궁금합니다."
        ),
        "days_ago": 2.2,
        "views": 19,
        "replies": [],
    },
    {
        "category": "community",
        "author": "emily_r",
        "kind": "discussion",
        "title": "Feature request: nested tags",
        "body": (
            "Tags are great, but once you have 100+ of them the flat list gets messy. It would be really useful to "
            "have hierarchical tags like `project/alpha` and `project/beta`, where filtering by `project` shows "
            "everything underneath. Anyone else want this?"
        ),
        "days_ago": 66.0,
        "views": 734,
        "replies": [
            {
                "author": "priya_n",
                "body": "Yes please. I'm faking it with prefixes at the moment and it's not the same.",
                "hours_after": 1.0,
                "accepted": False,
                "official": False,
                "votes": ["emily_r", "tom_h"],
            },
            {
                "author": "dkowalski",
                "body": (
                    "Counterpoint: nested notebooks already give you hierarchy. I'd rather see tag autocomplete get "
                    "smarter."
                ),
                "hours_after": 8.0,
                "accepted": False,
                "official": False,
                "votes": ["tom_h"],
            },
            {
                "author": "tom_h",
                "body": (
                    "Notebooks only let a note live in one place, though. Tags are for cross-cutting stuff, and that's "
                    "exactly where hierarchy helps."
                ),
                "hours_after": 20.0,
                "accepted": False,
                "official": False,
                "votes": ["emily_r", "priya_n"],
            },
            {
                "author": "support_mike",
                "body": (
                    "Thanks everyone, this is one of the most requested ideas this year. Nested tags are in design "
                    "right now, and we'll share mockups here for feedback before building it."
                ),
                "hours_after": 72.0,
                "accepted": False,
                "official": True,
                "votes": ["emily_r", "priya_n", "dkowalski", "tom_h", "admin_sam"],
            },
        ],
    },
    {
        "category": "apps",
        "author": "minji",
        "kind": "question",
        "title": "맥 메뉴 막대 아이콘 없애는 방법 있나요?",
        "body": (
            "맥 메뉴 막대에 클라우드노트 아이콘이 항상 떠 있어서 좀 거슬려요ㅎㅎ 앱 설정을 봐도 끄는 옵션이 안 "
            "보이는데, 혹시 숨기는 방법 아시는 분 계신가요?"
        ),
        "days_ago": 14.0,
        "views": 44,
        "replies": [],
    },
    {
        "category": "sync",
        "author": "taeyang",
        "kind": "question",
        "title": "구글 드라이브 폴더도 같이 동기화되나요?",
        "body": (
            "구글 드라이브 연동을 켜면 드라이브에 있는 파일이 클라우드노트 안으로 복사되는 건가요, 아니면 링크만 "
            "걸리는 건가요? 저장 용량 계산에 포함되는지도 궁금해요."
        ),
        "days_ago": 19.0,
        "views": 112,
        "replies": [
            {
                "author": "seoyeon",
                "body": (
                    "제가 써봤을 때는 링크만 걸리고 미리보기만 보여줬어요. 그래서 클라우드노트 용량은 안 먹는 것 "
                    "같았어요."
                ),
                "hours_after": 5.0,
                "accepted": False,
                "official": False,
                "votes": ["taeyang"],
            },
            {
                "author": "jaeho",
                "body": "근데 오프라인 보기 켜면 파일이 내려받아지면서 용량에 잡히는 것 같던데... 정확하지는 않아요.",
                "hours_after": 12.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "billing",
        "author": "priya_n",
        "kind": "question",
        "title": "Invoice shows the wrong VAT number",
        "body": (
            "Our latest invoice has an old VAT ID from before we re-registered the company. I've updated it in the "
            "billing details, but the invoice PDF still shows the old one. Can past invoices be reissued with the "
            "correct number? Our accountant needs it by the end of the month."
        ),
        "days_ago": 4.0,
        "views": 31,
        "replies": [],
    },
    {
        "category": "community",
        "author": "dahye",
        "kind": "discussion",
        "title": "회의록은 이렇게 쓰고 있어요 (팁 공유)",
        "body": (
            "저희 팀에서 회의록 템플릿 쓰는 방식 공유해요.\n"
            "\n"
            "1. 회의 전에 안건을 체크리스트로 미리 작성\n"
            "2. 참석자는 `@이름`으로 멘션 → 회의 끝나면 알림이 가서 다들 확인함\n"
            "3. 결정 사항은 `>` 인용 블록으로 강조\n"
            "4. 할 일은 담당자 멘션 + 마감일\n"
            "\n"
            "이렇게 하니까 '그때 뭐로 결정했더라' 하는 일이 확 줄었어요. 다른 팀은 어떻게 쓰시나요?"
        ),
        "days_ago": 11.0,
        "views": 287,
        "replies": [
            {
                "author": "seoyeon",
                "body": "결정 사항을 인용 블록으로 하는 거 좋네요! 바로 따라 해봐야겠어요",
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": ["dahye"],
            },
            {
                "author": "hyun",
                "body": "저희는 회의록 제목을 `YYYY-MM-DD 주간회의` 형식으로 통일해서 검색하기 편하게 해요.",
                "hours_after": 9.0,
                "accepted": False,
                "official": False,
                "votes": ["dahye", "minji"],
            },
            {
                "author": "support_jisoo",
                "body": (
                    "좋은 팁 감사해요! 참고로 템플릿에 `{{date}}`를 넣어두면 새 노트 만들 때 오늘 날짜가 자동으로 "
                    "들어가요."
                ),
                "hours_after": 24.0,
                "accepted": False,
                "official": True,
                "votes": ["dahye", "hyun", "seoyeon"],
            },
        ],
    },
    {
        "category": "apps",
        "author": "dkowalski",
        "kind": "question",
        "title": "Search doesn't find text inside attachments",
        "body": (
            "I have a bunch of PDFs attached to notes, and searching for a phrase I know is in one of them returns "
            "nothing. Is full-text search of attachments supported? If it depends on the plan, which one?"
        ),
        "days_ago": 24.0,
        "views": 159,
        "replies": [
            {
                "author": "emily_r",
                "body": (
                    "On Pro it does search PDFs for me, but only after a day or so. I think indexing runs in the "
                    "background."
                ),
                "hours_after": 4.0,
                "accepted": False,
                "official": False,
                "votes": ["dkowalski"],
            },
            {
                "author": "dkowalski",
                "body": (
                    "It's been a week and still nothing for those files. They might be scanned images rather than real "
                    "text, though."
                ),
                "hours_after": 28.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "account",
        "author": "hyun",
        "kind": "question",
        "title": "로그인해도 자꾸 로그아웃돼요",
        "body": (
            "크롬에서 웹 버전 쓰는데 로그인하고 나서 10분 정도 지나면 다시 로그인하라고 떠요. 로그인 유지 체크도 "
            "했는데 소용없네요. 다른 브라우저에서는 괜찮아요."
        ),
        "days_ago": 0.9,
        "views": 35,
        "replies": [
            {
                "author": "seoyeon",
                "body": (
                    "크롬 설정에서 서드파티 쿠키 차단이나 '종료 시 쿠키 삭제' 켜두셨는지 확인해 보세요. 저는 그거 "
                    "때문이었어요."
                ),
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": ["hyun"],
            },
        ],
    },
    {
        "category": "developers",
        "author": "priya_n",
        "kind": "question",
        "title": "Slack notifications go to the wrong channel",
        "body": (
            "We connected Slack and set notifications to go to #design-notes, but new comments keep showing up in "
            "#general instead. I've reconnected the integration twice. Is there another setting I'm missing?"
        ),
        "days_ago": 36.6,
        "views": 201,
        "replies": [
            {
                "author": "dkowalski",
                "body": (
                    "Check the notebook-level settings. Each notebook can override the workspace default channel, and "
                    "notebooks created before you connected Slack got #general as their override. Open the notebook → "
                    "**⋯ → Integrations** and switch it to *Use workspace default*."
                ),
                "hours_after": 2.0,
                "accepted": True,
                "official": False,
                "votes": ["priya_n", "emily_r", "tom_h"],
            },
            {
                "author": "priya_n",
                "body": "That was it, three of our old notebooks had the override. Thanks!",
                "hours_after": 3.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "apps",
        "author": "dahye",
        "kind": "question",
        "title": "마크다운으로 내보내면 이미지가 깨져요",
        "body": (
            "노트를 마크다운(.md)으로 내보내기 했는데 다른 편집기에서 열어보면 이미지가 전부 깨져서 나와요. 이미지 "
            "파일은 따로 폴더에 있긴 한데 경로가 안 맞는 것 같아요. 이미지까지 같이 제대로 내보내는 방법이 있을까요?"
        ),
        "days_ago": 0.2,
        "views": 5,
        "replies": [],
    },
    {
        "category": "billing",
        "author": "jaeho",
        "kind": "question",
        "title": "학생 할인 있나요?",
        "body": (
            "대학원생인데 연구 노트 정리용으로 프로 플랜 쓰고 싶어요. 혹시 학생이나 교육용 할인이 있는지 궁금합니다. "
            "학교 메일 있어요!"
        ),
        "days_ago": 47.0,
        "views": 205,
        "replies": [
            {
                "author": "minji",
                "body": "저도 궁금해서 찾아봤는데 요금 페이지에는 따로 안 나와 있더라고요.",
                "hours_after": 6.0,
                "accepted": False,
                "official": False,
                "votes": ["jaeho"],
            },
            {
                "author": "taeyang",
                "body": (
                    "예전에 지원팀에 물어봤을 때 교육 기관 단위로는 할인이 있다고 들었는데, 개인 학생 할인은 잘 "
                    "모르겠어요."
                ),
                "hours_after": 30.0,
                "accepted": False,
                "official": False,
                "votes": [],
            },
        ],
    },
    {
        "category": "account",
        "author": "tom_h",
        "kind": "question",
        "title": "How do I transfer workspace ownership?",
        "body": (
            "I created our team workspace but I'm moving to a different department, so my manager should become the "
            "owner. I can make her an admin, but I don't see a way to hand over ownership (and billing) completely. "
            "Where is that option?"
        ),
        "days_ago": 7.8,
        "views": 48,
        "replies": [],
    },
    {
        "category": "sync",
        "author": "seoyeon",
        "kind": "question",
        "title": "폰에서 찍은 사진 동기화가 너무 느려요",
        "body": (
            "휴대폰에서 사진 여러 장 첨부하면 PC에서 보이기까지 10분 넘게 걸려요. 와이파이 환경이고 다른 앱은 빠른데 "
            "클라우드노트만 느리네요. 원래 이런 건가요?"
        ),
        "days_ago": 1.9,
        "views": 22,
        "replies": [],
    },
    {
        "category": "billing",
        "author": "taeyang",
        "kind": "question",
        "title": "연간 플랜 결제했는데 환불되나요?",
        "body": (
            "어제 월간으로 바꾸려다가 실수로 연간 플랜을 결제했어요. 아직 한 번도 안 썼는데 환불 가능한가요? "
            "가능하면 월간으로 다시 결제하고 싶어요."
        ),
        "days_ago": 6.2,
        "views": 87,
        "replies": [
            {
                "author": "support_jisoo",
                "body": (
                    "결제 후 14일 이내이고 사용 이력이 없으면 전액 환불됩니다. 설정 > 결제 > 결제 내역에서 "
                    "'환불 요청'을 누르시면 영업일 기준 3~5일 안에 카드사로 취소 처리돼요."
                ),
                "hours_after": 3.0,
                "accepted": True,
                "official": True,
                "votes": ["taeyang"],
            },
        ],
    },
    {
        "category": "apps",
        "author": "dahye",
        "kind": "question",
        "title": "업데이트 후 앱이 켜지자마자 꺼져요",
        "body": (
            "윈도우 데스크톱 앱을 최신 버전으로 업데이트했더니 실행하면 바로 종료돼요. 재부팅도 해 봤고 "
            "다시 설치해도 똑같아요."
        ),
        "days_ago": 2.8,
        "views": 64,
        "replies": [],
    },
]


# Tags: (name, English label, Korean label). Staff made them; members choose among them.
TAGS: list[tuple[str, str, str]] = [
    ("ios", "iOS", "iOS"),
    ("android", "Android", "안드로이드"),
    ("windows", "Windows", "윈도우"),
    ("mac", "Mac", "맥"),
    ("결제", "Billing", "결제"),
    ("환불", "Refunds", "환불"),
    ("sync", "Sync", "동기화"),
    ("api", "API", "API"),
    ("login", "Log-in", "로그인"),
    ("2fa", "Two-step verification", "2단계 인증"),
    ("slack", "Slack", "슬랙"),
    ("export", "Export", "내보내기"),
    ("team-plan", "Team plan", "팀 플랜"),
    ("crash", "Crashes", "앱 종료"),
]

# Each tagged thread's tags, by title.
# A burst of crash reports in the last hour (minutes ago), so that the spike
# check (forum.services.spikes) has a topic to flag once the topic job has
# grouped them with the older crash threads. Six reports of the same problem
# ("the app closes as soon as it opens, since the update"), phrased the way
# members would, so that all of them group together: the rule needs 4 in the
# hour, and tests/test_topic_spikes.py checks that at least 5 are in the topic.
SPIKE_BURST: list[dict[str, Any]] = [
    {
        "author": "minji",
        "title": "업데이트하고 나서 앱이 바로 꺼져요",
        "minutes_ago": 4,
        "body": "방금 업데이트했는데 앱을 켜자마자 꺼져요. 오류 메시지도 없어요. 갤럭시 S23이에요.",
    },
    {
        "author": "dahye",
        "title": "앱 실행하면 튕겨요 (업데이트 후)",
        "minutes_ago": 9,
        "body": "오늘 업데이트 받고 나서 앱을 실행하면 바로 튕겨요. 재부팅해도 똑같아요.",
    },
    {
        "author": "taeyang",
        "title": "업데이트하니까 앱이 켜지자마자 꺼져요",
        "minutes_ago": 15,
        "body": "아이폰에서 오늘 앱 업데이트하고 나서 앱을 켜면 로고만 보이고 바로 꺼져요. 재설치해도 똑같아요.",
    },
    {
        "author": "seoyeon",
        "title": "앱이 계속 튕겨서 메모를 못 봐요",
        "minutes_ago": 22,
        "body": "앱이 열리자마자 꺼져서 메모를 하나도 못 보고 있어요. 최신 버전으로 업데이트했어요.",
    },
    {
        "author": "jaeho",
        "title": "최신 업데이트 후 앱이 안 열리고 꺼져요",
        "minutes_ago": 30,
        "body": "최신 버전 업데이트 후에 앱이 안 열리고 바로 꺼집니다. 다른 분들도 그런가요?",
    },
    {
        "author": "hyun",
        "title": "앱 업데이트 후 켜자마자 꺼져요",
        "minutes_ago": 41,
        "body": "앱 업데이트 받은 뒤로 앱을 켜면 바로 꺼져요. 폰이랑 태블릿 둘 다 그래요. 저만 그런 건가요?",
    },
]

THREAD_TAGS: dict[str, list[str]] = {
    "비밀번호 재설정 메일이 안 와요": ["login"],
    "환불 받을 수 있나요?": ["결제", "환불"],
    "Desktop app crashes on launch after update": ["crash", "windows"],
    "동기화 충돌 사본이 계속 생겨요": ["sync"],
    "How to rotate API keys without downtime?": ["api"],
    "휴대폰 바꿨더니 2단계 인증 때문에 로그인을 못 해요": ["2fa", "login"],
    "세금계산서 발행 가능한가요?": ["결제"],
    "Invite teammates without giving them admin rights": ["team-plan"],
    "앱이 자꾸 튕겨요": ["crash", "android"],
    "How do I get a refund?": ["결제", "환불"],
    "오프라인에서 쓴 노트가 사라졌어요": ["sync", "ios"],
    "API 키 교체하는 방법": ["api"],
    "결제 취소하고 돈 돌려받고 싶어요": ["결제", "환불"],
    'Why do I keep getting "conflicted copy" notes?': ["sync"],
    "실행하자마자 강제 종료돼요": ["crash", "mac"],
    "Regenerated our API key but the old one still works?": ["api"],
    "노트가 두 개로 복제돼요": ["sync"],
    "슬랙 연동했는데 알림이 안 와요": ["slack"],
    "모바일 앱에서 PDF 미리보기가 안 돼요": ["ios", "android"],
    "Accidentally bought the annual plan, can I get my money back?": ["결제", "환불"],
    "Can I cancel and get my money back for this month?": ["결제", "환불"],
    "Dark mode on Android doesn't follow the system setting": ["android"],
    "팀 플랜 중간에 인원 추가하면 요금은 어떻게 돼요?": ["team-plan", "결제"],
    "Webhook payload is missing the note title": ["api"],
    "윈도우에서 클라우드노트가 안 열려요": ["windows", "crash"],
    "Export all my notes before cancelling?": ["export"],
    "API 요청 제한(rate limit)이 어떻게 되나요?": ["api"],
    "영수증을 회사 이름으로 다시 받을 수 있나요": ["결제"],
    "맥 메뉴 막대 아이콘 없애는 방법 있나요?": ["mac"],
    "Invoice shows the wrong VAT number": ["결제"],
    "로그인해도 자꾸 로그아웃돼요": ["login"],
    "Slack notifications go to the wrong channel": ["slack"],
    "마크다운으로 내보내면 이미지가 깨져요": ["export"],
    "폰에서 찍은 사진 동기화가 너무 느려요": ["sync", "ios"],
    "연간 플랜 결제했는데 환불되나요?": ["결제", "환불"],
    "업데이트 후 앱이 켜지자마자 꺼져요": ["crash", "android"],
}

_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_ROLES = ("member", "staff", "moderator", "admin")
_OFFICIAL_ROLES = ("staff", "moderator", "admin")


def check() -> None:
    """Assert that the demo content is internally consistent."""
    slugs = [c["slug"] for c in CATEGORIES]
    assert len(slugs) == len(set(slugs)), "duplicate category slug"
    for c in CATEGORIES:
        for key in ("name_ko", "name_en", "description_ko", "description_en"):
            assert c[key].strip(), f"category {c['slug']!r}: empty {key}"

    users = {u["username"]: u for u in USERS}
    assert len(users) == len(USERS), "duplicate username"
    for u in USERS:
        name = u["username"]
        assert 3 <= len(name) <= 20 and set(name) <= _USERNAME_CHARS, f"bad username {name!r}"
        assert u["role"] in _ROLES, f"user {name!r}: bad role {u['role']!r}"
        assert u["locale"] in ("ko", "en"), f"user {name!r}: bad locale {u['locale']!r}"
        assert u["display_name"].strip(), f"user {name!r}: empty display name"
    official_authors = {n for n, u in users.items() if u["role"] in _OFFICIAL_ROLES}

    titles = [t["title"] for t in THREADS]
    assert len(titles) == len(set(titles)), "duplicate thread title"
    tag_names = {name for name, _en, _ko in TAGS}
    for title, names in THREAD_TAGS.items():
        assert title in titles, f"tags for unknown thread {title!r}"
        assert len(names) <= 5 and set(names) <= tag_names, f"thread {title!r}: bad tags {names!r}"
    for i, t in enumerate(THREADS):
        where = f"thread #{i} {t['title']!r}"
        assert t["category"] in slugs, f"{where}: unknown category {t['category']!r}"
        assert t["author"] in users, f"{where}: unknown author {t['author']!r}"
        assert t["kind"] in ("question", "discussion"), f"{where}: bad kind {t['kind']!r}"
        assert t["title"].strip() and t["body"].strip(), f"{where}: empty title or body"
        assert 0.2 <= t["days_ago"] <= 80, f"{where}: days_ago out of range"
        assert 5 <= t["views"] <= 900, f"{where}: views out of range"
        replies = t["replies"]
        assert len(replies) <= 5, f"{where}: too many replies"
        assert sum(1 for r in replies if r["accepted"]) <= 1, f"{where}: more than one accepted reply"
        assert sum(1 for r in replies if r["official"]) <= 1, f"{where}: more than one official reply"
        previous = 0.0
        for r in replies:
            assert r["author"] in users, f"{where}: unknown reply author {r['author']!r}"
            assert r["body"].strip(), f"{where}: empty reply body"
            assert r["hours_after"] > previous, f"{where}: hours_after not increasing"
            assert r["hours_after"] <= t["days_ago"] * 24, f"{where}: reply is in the future"
            previous = r["hours_after"]
            if r["accepted"]:
                assert t["kind"] == "question", f"{where}: accepted reply on a discussion"
                assert r["author"] != t["author"], f"{where}: author accepted their own reply"
            if r["official"]:
                assert r["author"] in official_authors, f"{where}: official reply by {r['author']!r}"
            votes = r["votes"]
            assert len(votes) == len(set(votes)), f"{where}: duplicate voter"
            assert len(votes) <= 6, f"{where}: too many voters"
            assert r["author"] not in votes, f"{where}: {r['author']!r} voted for their own reply"
            for voter in votes:
                assert voter in users, f"{where}: unknown voter {voter!r}"
