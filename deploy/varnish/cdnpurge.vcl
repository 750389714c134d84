vcl 4.1;

# cdnpurge.vcl: the purge requests cdnpurge sends, for Varnish 7.1 with
# varnish-modules (vmod_xkey). Include it from your site's VCL before your
# own subroutines (see README.md); it defines no backend.
#
#   PURGE <path>                          the object of that Host and URL
#   PURGE <path>   X-Cdnpurge-Soft: 1     the same, marked stale (purge.soft)
#   BAN <prefix>   X-Ban-Prefix: <regex>  every object of that Host whose URL
#                                         starts with the prefix; the header
#                                         carries the prefix regex-quoted
#   PURGE /        xkey-purge: k1 k2      every object tagged k1 or k2
#   PURGE /        xkey-softpurge: k1 k2  the same, marked stale
#
# Answers: 200 with X-Cdnpurge-Purged: N (objects purged) for PURGE, or
# X-Cdnpurge-Banned: 1 for BAN; 400 for a malformed request; 403 for a
# client outside the ACL purgers.

import std;
import purge;
import xkey;

# Who may purge. Add a line per address or network of the hosts cdnpurge
# runs on, e.g.  "192.0.2.10";  or  "10.0.0.0"/8;
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # Only this file sets these; a client's own would be echoed in vcl_synth.
    unset req.http.X-Cdnpurge-Purged;
    unset req.http.X-Cdnpurge-Banned;

    if (req.method == "PURGE" || req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden: not in acl purgers"));
        }
    }
    if (req.method == "PURGE") {
        if (req.http.xkey-purge) {
            set req.http.X-Cdnpurge-Purged = xkey.purge(req.http.xkey-purge);
            return (synth(200, "Purged"));
        }
        if (req.http.xkey-softpurge) {
            set req.http.X-Cdnpurge-Purged = xkey.softpurge(req.http.xkey-softpurge);
            return (synth(200, "Purged"));
        }
        # Looked up as a GET would be (vcl_hash), purged in vcl_hit or
        # vcl_miss, every variant.
        return (hash);
    }
    if (req.method == "BAN") {
        # VCL cannot quote a regular expression: the client sends the prefix
        # quoted. It must start with "/" and hold only visible ASCII other
        # than '"', so that it stays one word of the ban expression.
        if (req.http.X-Ban-Prefix !~ {"^/[!#-~]*$"}) {
            return (synth(400, "Bad Request: X-Ban-Prefix must be a regex-quoted path prefix"));
        }
        # Lurker-friendly: only obj.* (see vcl_backend_response).
        if (!std.ban("obj.http.x-host == " + regsub(std.tolower(req.http.host), ":[0-9]+$", "") +
                " && obj.http.x-url ~ ^" + req.http.X-Ban-Prefix)) {
            return (synth(400, "Bad Request: " + std.ban_error()));
        }
        set req.http.X-Cdnpurge-Banned = "1";
        return (synth(200, "Banned"));
    }
}

sub cdnpurge_purge {
    if (req.http.X-Cdnpurge-Soft == "1") {
        # TTL 0, grace and keep as they were: served stale while refetched.
        set req.http.X-Cdnpurge-Purged = purge.soft(0s);
    } else {
        set req.http.X-Cdnpurge-Purged = purge.hard();
    }
    return (synth(200, "Purged"));
}

sub vcl_hit {
    if (req.method == "PURGE") {
        call cdnpurge_purge;
    }
}

sub vcl_miss {
    if (req.method == "PURGE") {
        call cdnpurge_purge;
    }
}

sub vcl_backend_response {
    # What BAN matches, stored on the object so that the ban lurker can
    # test it without a request.
    set beresp.http.x-url = bereq.url;
    set beresp.http.x-host = regsub(std.tolower(bereq.http.host), ":[0-9]+$", "");
}

sub vcl_deliver {
    unset resp.http.x-url;
    unset resp.http.x-host;
    unset resp.http.xkey;
}

sub vcl_synth {
    if (req.http.X-Cdnpurge-Purged) {
        set resp.http.X-Cdnpurge-Purged = req.http.X-Cdnpurge-Purged;
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.body = "purged " + req.http.X-Cdnpurge-Purged + {"
"};
        return (deliver);
    }
    if (req.http.X-Cdnpurge-Banned) {
        set resp.http.X-Cdnpurge-Banned = "1";
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.body = {"banned
"};
        return (deliver);
    }
}
