"""Domains: registrable domain and root (``shop.acme.co.uk`` -> ``acme.co.uk`` / ``acme``) from an embedded
subset of the Public Suffix List, hosting platforms and free-mail providers. Host names themselves come
from the one normaliser, ``core.domains.normalize_domain``."""

from __future__ import annotations

from openprm.core.domains import normalize_domain
from openprm.deals.matching.names import words

# Multi-label public suffixes (a compact, embedded subset of the Public Suffix List).
# In addition, ``<generic second level>.<two-letter ccTLD>`` is treated as a suffix.
_MULTI_LABEL_SUFFIXES: frozenset[str] = words(
    """
    co.uk org.uk ac.uk gov.uk ltd.uk plc.uk me.uk net.uk sch.uk nhs.uk police.uk
    com.au net.au org.au edu.au gov.au asn.au id.au
    co.nz org.nz net.nz govt.nz ac.nz
    co.jp ne.jp or.jp ac.jp go.jp ad.jp ed.jp gr.jp lg.jp
    com.br net.br org.br gov.br edu.br art.br eng.br ind.br
    com.mx org.mx gob.mx net.mx edu.mx
    co.in net.in org.in firm.in gen.in ind.in ac.in edu.in gov.in res.in
    co.za org.za net.za gov.za ac.za web.za
    com.sg edu.sg gov.sg net.sg org.sg per.sg
    com.cn net.cn org.cn gov.cn edu.cn ac.cn
    com.hk org.hk net.hk edu.hk gov.hk idv.hk
    com.tw org.tw net.tw edu.tw idv.tw
    co.kr or.kr ne.kr go.kr ac.kr re.kr
    com.ar com.co com.tr org.tr net.tr gen.tr com.pl net.pl org.pl
    co.il org.il net.il ac.il gov.il
    com.my net.my org.my com.ph com.vn co.id or.id ac.id co.th in.th ac.th
    com.pe com.ec com.uy com.ve com.bo com.py com.gt com.do com.pa com.ni com.sv com.hn
    com.sa com.eg com.qa com.kw com.bh com.om com.lb com.jo com.pk com.bd com.lk com.np
    co.at or.at gv.at ac.at
    com.ng co.ke co.tz co.ug co.zw co.bw com.gh
    gouv.fr asso.fr com.es nom.es org.es gob.es com.pt com.gr co.hu com.ua co.ua com.ru msk.ru spb.ru
    com.cy com.mt com.ee com.hr co.rs
    """
)
_CC_SECOND_LEVEL = words(
    "co com net org gov edu ac or ne go gob gouv mil ltd plc nom sch biz info firm gen ind web"
)

# Hosting platforms: ``<site>.<platform>`` is one customer's site, but sharing the
# platform is not evidence.
_HOSTING_SUFFIXES: frozenset[str] = words(
    """
    github.io gitlab.io herokuapp.com wixsite.com blogspot.com wordpress.com squarespace.com
    netlify.app vercel.app pages.dev web.app firebaseapp.com appspot.com azurewebsites.net
    cloudfront.net amazonaws.com myshopify.com weebly.com webflow.io carrd.co notion.site
    substack.com tumblr.com sharepoint.com onmicrosoft.com godaddysites.com business.site
    mystrikingly.com jimdofree.com jimdosite.com ghost.io readthedocs.io glitch.me fly.dev
    onrender.com repl.co bitbucket.io surge.sh square.site site123.me
    """
)

# Free-mail / ISP mail domains (registrable domains), never evidence of a customer.
FREEMAIL_DOMAINS: frozenset[str] = words(
    """
    gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com ymail.com
    rocketmail.com aol.com aim.com icloud.com me.com mac.com proton.me protonmail.com pm.me
    protonmail.ch gmx.com gmx.net gmx.de gmx.at gmx.ch web.de t-online.de freenet.de posteo.de
    mailbox.org mail.com email.com inbox.com mail.ru bk.ru list.ru inbox.ru yandex.com yandex.ru
    rambler.ru qq.com 163.com 126.com sina.com sohu.com yeah.net foxmail.com aliyun.com zohomail.com
    fastmail.com fastmail.fm hey.com tutanota.com tuta.io orange.fr wanadoo.fr free.fr laposte.net
    sfr.fr libero.it virgilio.it tiscali.it alice.it btinternet.com sky.com virginmedia.com
    talktalk.net comcast.net verizon.net att.net sbcglobal.net bellsouth.net cox.net charter.net
    earthlink.net optonline.net shaw.ca rogers.com sympatico.ca bigpond.com optusnet.com.au
    uol.com.br bol.com.br terra.com.br ig.com.br naver.com hanmail.net daum.net seznam.cz wp.pl
    o2.pl interia.pl onet.pl rediffmail.com bluewin.ch hushmail.com gmx.fr
    """
)
# Roots that are free-mail under any public suffix (hotmail.fr, yahoo.co.uk, ...).
FREEMAIL_ROOTS: frozenset[str] = words(
    "gmail googlemail hotmail outlook yahoo ymail icloud protonmail gmx yandex aol msn rediffmail "
    "hanmail live windowslive"
)

# Words glued to a brand in domain names ("lufthansagroup.com", "acmecorp.com").
_ROOT_SUFFIXES = (
    "international",
    "worldwide",
    "holdings",
    "company",
    "global",
    "group",
    "intl",
    "corp",
    "gmbh",
    "inc",
    "llc",
    "ltd",
    "plc",
    "usa",
    "grp",
    "hq",
)


def public_suffix_length(labels: list[str]) -> tuple[int, bool]:
    """Number of labels forming the public suffix, and whether it is a hosting platform."""
    if len(labels) >= 3:
        for size in (3, 2):
            if len(labels) > size and ".".join(labels[-size:]) in _HOSTING_SUFFIXES:
                return size, True
        last_two = ".".join(labels[-2:])
        if last_two in _HOSTING_SUFFIXES:
            return 2, True
        if last_two in _MULTI_LABEL_SUFFIXES:
            return 2, False
        if len(labels[-1]) == 2 and labels[-2] in _CC_SECOND_LEVEL:
            return 2, False
    return 1, False


def root_core(root_key: str) -> str:
    """Root without glued descriptor words: "lufthansagroup" -> "lufthansa", "theacme" -> "acme"."""
    core = root_key
    if core.startswith("the") and len(core) >= 8:
        core = core[3:]
    for suffix in _ROOT_SUFFIXES:
        if core.endswith(suffix) and len(core) - len(suffix) >= 4:
            return core[: -len(suffix)]
    return core


def registrable_domain(domain: str) -> str:
    """The registrable domain (``eu.shop.acme.co.uk`` -> ``acme.co.uk``); ``""`` if invalid."""
    host = normalize_domain(domain)
    if not host:
        return ""
    labels = host.split(".")
    size, _hosted = public_suffix_length(labels)
    return ".".join(labels[-(size + 1) :])


def domain_root(domain: str) -> str:
    """The registrable label without its public suffix (``shop.acme.co.uk`` -> ``acme``).

    Works offline with an embedded list of common multi-label suffixes; accepts anything
    :func:`normalize_domain` accepts and returns ``""`` for invalid input.
    """
    registrable = registrable_domain(domain)
    return registrable.split(".", 1)[0] if registrable else ""
