/*
 * The hosted approval page of a checkout session: what a pay link
 * (amazonPayRedirectUrl, /checkout/<id>) opens. Plain HTML with one form and no
 * script, sized for a phone: the merchant, the items (the session's
 * noteToBuyer and customInformation) or the plan, the amount and the recurring
 * terms, a choice of test buyer and payment instrument, and Approve / Decline.
 * Approving creates the charge permission (which notifies the merchant) and
 * shows the way back to the merchant's checkoutResultReturnUrl, as the
 * provider's page does; the merchant then completes the session.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "paysim.h"
#include "voxcart/json.h"

static void esc(struct vx_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            vx_buf_appends(b, "&amp;");
            break;
        case '<':
            vx_buf_appends(b, "&lt;");
            break;
        case '>':
            vx_buf_appends(b, "&gt;");
            break;
        case '"':
            vx_buf_appends(b, "&quot;");
            break;
        case '\'':
            vx_buf_appends(b, "&#39;");
            break;
        default:
            vx_buf_append(b, s, 1);
        }
    }
}

static void page_head(struct vx_buf *b, const char *title)
{
    vx_buf_appends(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>");
    esc(b, title);
    vx_buf_appends(b,
                   "</title>\n<style>\n"
                   "body{font-family:system-ui,sans-serif;margin:0;background:#f3f3f3;color:#111}\n"
                   "main{max-width:28rem;margin:0 auto;padding:1rem}\n"
                   "section{background:#fff;border-radius:.5rem;padding:1rem;margin-bottom:1rem}\n"
                   "h1{font-size:1.25rem}.amount{font-size:1.75rem;font-weight:bold}\n"
                   "label{display:block;margin:.75rem 0 .25rem}select{width:100%;font-size:1rem;"
                   "padding:.5rem}\n"
                   "button{width:100%;font-size:1.1rem;padding:.8rem;margin-top:.75rem;border:0;"
                   "border-radius:.4rem}\n"
                   "#approve{background:#ffd814}#decline{background:#ddd}\n"
                   ".sandbox{color:#b12704;font-weight:bold}\n"
                   "</style></head><body><main>\n"
                   "<p class=\"sandbox\">Sandbox: no real money moves</p>\n");
}

static void money_text(struct vx_buf *b, const struct ps_money *m)
{
    char a[32];
    ps_amount_format(m->minor, m->cur, a);
    vx_buf_appendf(b, "%s %s", m->cur, a);
}

static void meta_lines(struct vx_buf *b, const char *metadata)
{
    struct json_object *o = metadata ? json_tokener_parse(metadata) : NULL;
    const char *store = vx_json_get_str(o, "merchantStoreName"),
               *note = vx_json_get_str(o, "noteToBuyer"),
               *info = vx_json_get_str(o, "customInformation");

    if (store) {
        vx_buf_appends(b, "<p id=\"store\">");
        esc(b, store);
        vx_buf_appends(b, "</p>\n");
    }
    if (note || info) {
        vx_buf_appends(b, "<ul id=\"items\">");
        if (note) {
            vx_buf_appends(b, "<li>");
            esc(b, note);
            vx_buf_appends(b, "</li>");
        }
        if (info) {
            vx_buf_appends(b, "<li>");
            esc(b, info);
            vx_buf_appends(b, "</li>");
        }
        vx_buf_appends(b, "</ul>\n");
    }
    json_object_put(o);
}

static void render_form(struct vx_buf *b, const struct ps_session *s)
{
    int recurring = strcmp(s->perm_type, "Recurring") == 0;

    page_head(b, "Approve your payment");
    vx_buf_appends(b, "<section><h1>Pay <span id=\"merchant\">");
    esc(b, s->merchant);
    vx_buf_appends(b, "</span></h1>\n");
    meta_lines(b, s->metadata);
    if (s->amount.minor >= 0) {
        vx_buf_appends(b, "<p class=\"amount\" id=\"amount\">");
        money_text(b, &s->amount);
        vx_buf_appends(b, "</p>\n");
    }
    if (recurring) {
        vx_buf_appends(b, "<p id=\"terms\">Recurring payment");
        if (s->rec_amount.minor >= 0) {
            vx_buf_appends(b, " of ");
            money_text(b, &s->rec_amount);
        }
        if (s->freq_unit[0]) {
            vx_buf_appends(b, " every ");
            esc(b, s->freq_value[0] ? s->freq_value : "1");
            vx_buf_appends(b, " ");
            esc(b, s->freq_unit);
            vx_buf_appends(b, strcmp(s->freq_value, "1") == 0 || !s->freq_value[0] ? "" : "s");
        }
        vx_buf_appends(b, ", charged by the merchant each cycle until you cancel.</p>\n");
    } else {
        vx_buf_appends(b, "<p id=\"terms\">One-time payment.</p>\n");
    }
    vx_buf_appends(b, "</section>\n<section><form method=\"post\" action=\"/checkout/");
    esc(b, s->id);
    vx_buf_appends(b, "\">\n<label for=\"buyer\">Test buyer</label><select id=\"buyer\" "
                      "name=\"buyer\">\n");
    for (size_t i = 0; i < ps.buyers.n; i++) {
        vx_buf_appends(b, "<option value=\"");
        esc(b, ps.buyers.v[i].id);
        vx_buf_appends(b, "\">");
        esc(b, ps.buyers.v[i].name);
        vx_buf_appends(b, " (");
        esc(b, ps.buyers.v[i].email);
        vx_buf_appends(b, ")</option>\n");
    }
    vx_buf_appends(b, "</select>\n<label for=\"instrument\">Payment method</label>"
                      "<select id=\"instrument\" name=\"instrument\">\n");
    for (size_t i = 0; i < ps_ninstruments; i++) {
        vx_buf_appendf(b, "<option value=\"%s\">", ps_instruments[i].id);
        esc(b, ps_instruments[i].label);
        vx_buf_appends(b, "</option>\n");
    }
    vx_buf_appends(b, "</select>\n"
                      "<button id=\"approve\" type=\"submit\" name=\"action\" "
                      "value=\"approve\">Approve</button>\n"
                      "<button id=\"decline\" type=\"submit\" name=\"action\" "
                      "value=\"decline\">Decline</button>\n"
                      "</form></section></main></body></html>\n");
}

static void render_result(struct vx_buf *b, const struct ps_session *s, const char *message)
{
    page_head(b, "Checkout");
    vx_buf_appends(b, "<section><h1 id=\"result\">");
    esc(b, message);
    vx_buf_appends(b, "</h1>\n<p>Checkout session <code id=\"session\">");
    esc(b, s->id);
    vx_buf_appends(b, "</code>");
    if (s->perm[0]) {
        vx_buf_appends(b, ", charge permission <code id=\"permission\">");
        esc(b, s->perm);
        vx_buf_appends(b, "</code>");
    }
    vx_buf_appends(b, "</p>\n");
    if (s->result_url[0]) {
        vx_buf_appends(b, "<p><a id=\"return\" href=\"");
        esc(b, s->result_url);
        vx_buf_appends(b, strchr(s->result_url, '?') ? "&amp;" : "?");
        vx_buf_appends(b, "amazonCheckoutSessionId=");
        esc(b, s->id);
        vx_buf_appends(b, "\">Return to the merchant</a></p>\n");
    }
    vx_buf_appends(b, "</section></main></body></html>\n");
}

/* One value of an application/x-www-form-urlencoded body, decoded into out. */
static int form_value(const char *body, size_t len, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name), i = 0;

    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > nlen && strncmp(body + i, name, nlen) == 0 && body[i + nlen] == '=') {
            size_t o = 0;
            for (size_t k = i + nlen + 1; k < end && o + 1 < size; k++) {
                char c = body[k];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%' && k + 2 < end) {
                    char hx[3] = {body[k + 1], body[k + 2], 0};
                    c = (char)strtol(hx, NULL, 16);
                    k += 2;
                }
                out[o++] = c;
            }
            out[o] = '\0';
            return 0;
        }
        i = end + 1;
    }
    return VX_ENOTFOUND;
}

void ps_page_dispatch(struct ps_req *r)
{
    struct ps_session *s;
    char action[16], buyer[64], instrument[32];
    struct vx_err e = {0};

    pthread_mutex_lock(&ps_lock);
    ps_tick();
    s = ps_session_find(r->rest);
    r->content_type = "text/html; charset=utf-8";
    r->status = 200;
    if (!s) {
        r->status = 404;
        vx_buf_appends(&r->out,
                       "<!doctype html><title>Not found</title><p>No such checkout.</p>\n");
    } else if (strcmp(r->method, "GET") == 0) {
        if (strcmp(s->state, "Open") != 0 || s->approved)
            render_result(&r->out, s,
                          s->approved ? "Payment approved" : "This checkout is no longer open");
        else
            render_form(&r->out, s);
    } else if (strcmp(r->method, "POST") == 0) {
        if (form_value(r->body, r->body_len, "action", action, sizeof(action)) != 0)
            action[0] = '\0';
        if (strcmp(action, "decline") == 0 && strcmp(s->state, "Open") == 0 && !s->approved) {
            ps_session_decline(s);
            render_result(&r->out, s, "Payment declined");
        } else if (strcmp(action, "approve") == 0 &&
                   form_value(r->body, r->body_len, "buyer", buyer, sizeof(buyer)) == 0 &&
                   form_value(r->body, r->body_len, "instrument", instrument, sizeof(instrument)) ==
                       0 &&
                   ps_session_approve(s, buyer, instrument, &e) == 0) {
            render_result(&r->out, s, "Payment approved");
        } else {
            r->status = 400;
            render_result(&r->out, s, e.msg[0] ? e.msg : "Choose Approve or Decline");
        }
    } else {
        r->status = 405;
        vx_buf_appends(&r->out, "<!doctype html><p>Method not allowed</p>\n");
    }
    pthread_mutex_unlock(&ps_lock);
}
