/*
 * The pay-link page (the README's "Paying by voice"): where a customer who got a
 * pay link sets the optional voice code before going on to the provider's
 * approval page, which cannot ask for it.
 *
 * DESIGN
 * - The token in the path is the authentication (paylink.h): http.c checks it
 *   before the handler runs, and every bad token, whatever is wrong with it, is
 *   the same plain 404 page, so a guesser learns nothing.
 * - GET reads the order and shows the shop, its lines, the total and the
 *   field; POST reads it again, then with a code writes one write set on the
 *   customer's slot: the code's stored form (vcode.h) and the reset of the
 *   failure count and the lock, behind a guard that the order is still
 *   CHARGE_PENDING, so a page left open after the order was paid or canceled
 *   changes nothing. Then a 303 to the provider's page the order keeps as
 *   "pay_url". Without a code nothing is written.
 * - The page is plain HTML with inline CSS and no script; everything printed
 *   is escaped. It is served not to be cached, framed or named as a referrer
 *   (the token is in its address), which http.c adds for html_page replies.
 * - The texts are English; the lines and amounts are written in the order's
 *   locale, as its summary was spoken.
 */
#include "server.h"

#include "voxcart/catalog.h"
#include "voxcart/fsm.h"
#include "voxcart/i18n.h"
#include "voxcart/jscan.h"
#include "voxcart/log.h"
#include "voxcart/pay.h"
#include "voxcart/response.h"
#include "voxcart/vcode.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { STEP_READ, STEP_WRITE };

/* What the page shows of an order. */
struct page_order {
    struct vx_pay_order o;
    char locale[16];
    char pay_url[512];
};

/* SSML's escaping is HTML's: the same five characters (&apos; is an HTML5 entity too). */
static void html_escape(struct vx_buf *b, const char *s)
{
    vx_ssml_escape(b, s ? s : "");
}

static const char page_head[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<meta name=\"referrer\" content=\"no-referrer\"><title>";
static const char page_style[] =
    "</title><style>"
    "body{font:17px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f1;color:#1a1a1a}"
    "main{max-width:28rem;margin:0 auto;padding:1.5rem 1rem}"
    "h1{font-size:1.4rem;margin:0 0 1rem}"
    "ul{list-style:none;padding:0;margin:0 0 .5rem}"
    "li{display:flex;justify-content:space-between;padding:.35rem 0;border-bottom:1px solid #ccc}"
    ".total{display:flex;justify-content:space-between;font-weight:700;margin:.5rem 0 1.5rem}"
    "label{display:block;font-weight:700;margin-bottom:.25rem}"
    "input{font-size:1.3rem;width:7rem;padding:.4rem;letter-spacing:.3rem;border:2px solid #555;"
    "border-radius:.3rem}"
    "input:focus,button:focus{outline:3px solid #0b57d0;outline-offset:2px}"
    ".help{color:#333;font-size:.95rem}"
    ".error{color:#a00;font-weight:700}"
    "button{display:block;width:100%;margin-top:1.5rem;padding:.8rem;font-size:1.1rem;"
    "font-weight:700;color:#fff;background:#0b57d0;border:0;border-radius:.4rem}"
    "</style></head><body><main>";
static const char page_tail[] = "</main></body></html>\n";

/* A whole page that says one thing (404, already paid, an error), into out. */
static void page_plain(struct server_reply *out, int status, const char *title, const char *text)
{
    out->status = status;
    out->content_type = "text/html; charset=utf-8";
    out->html_page = 1;
    out->body.len = 0;
    vx_buf_appends(&out->body, page_head);
    html_escape(&out->body, title);
    vx_buf_appends(&out->body, page_style);
    vx_buf_appends(&out->body, "<h1 id=\"title\">");
    html_escape(&out->body, title);
    vx_buf_appends(&out->body, "</h1><p id=\"message\">");
    html_escape(&out->body, text);
    vx_buf_appends(&out->body, "</p>");
    vx_buf_appends(&out->body, page_tail);
}

int paypage_token(struct server *s, const char *url, struct paypage_call *pc,
                  struct server_reply *out)
{
    const char *tok = strncmp(url, "/pay/", 5) == 0 ? url + 5 : "";
    if (s->paypage_key &&
        vx_paylink_parse(s->paypage_key, s->paypage_key_len, tok, strcspn(tok, "?"), &pc->who) == 0)
        return 0;
    page_plain(out, 404, "Page not found",
               "This payment link is not valid. Open the link on the card in your voice app "
               "again.");
    out->outcome = VX_OUT_NOT_FOUND;
    return -1;
}

/* The order document as read: 0, or VX_EPARSE. */
static int order_read(const char *json, struct page_order *po)
{
    struct vx_jdoc d;
    const char *v;
    memset(po, 0, sizeof(*po));
    if (vx_pay_order_parse(json, &po->o) != 0 || vx_jdoc_parse(&d, json, strlen(json), NULL) != 0)
        return VX_EPARSE;
    v = vx_jget_str(&d, vx_jroot(&d), "locale");
    vx_strlcpy(po->locale, v ? v : "", sizeof(po->locale));
    v = vx_jget_str(&d, vx_jroot(&d), "pay_url");
    vx_strlcpy(po->pay_url, v ? v : "", sizeof(po->pay_url));
    vx_jdoc_free(&d);
    return 0;
}

/* A URL fit for a Location header: http(s), printable ASCII without spaces. */
static int pay_url_ok(const char *u)
{
    if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
        return 0;
    for (; *u; u++)
        if ((unsigned char)*u <= ' ' || (unsigned char)*u >= 0x7f)
            return 0;
    return 1;
}

/* One line of the order in its locale: "2 large lattes" and its amount. */
static void page_line(struct vx_buf *b, const struct vx_catalog *cat, const struct vx_locale *l,
                      const struct vx_order_line *ol, const char *currency)
{
    const struct vx_cat_product *p = cat ? vx_catalog_product(cat, ol->product) : NULL;
    const struct vx_cat_size *z = cat && ol->size[0] ? vx_catalog_size(cat, ol->size) : NULL;
    const char *lang = vx_locale_lang(l);
    char item[200], amount[64];
    if (p) {
        const struct vx_cat_names *pn = vx_cat_names_for(p->names, p->nnames, lang);
        const struct vx_cat_names *zn = z ? vx_cat_names_for(z->names, z->nnames, lang) : NULL;
        vx_locale_item(l, ol->qty, &pn->words, zn ? &zn->words : NULL, item, sizeof(item));
    } else {
        snprintf(item, sizeof(item), "%d %s", ol->qty, ol->product);
    }
    vx_money_written(l, ol->amount, currency, amount, sizeof(amount));
    vx_buf_appends(b, "<li><span>");
    html_escape(b, item);
    vx_buf_appends(b, "</span><span>");
    html_escape(b, amount);
    vx_buf_appends(b, "</span></li>");
}

/* The explanation under the field: from which amount the shop asks for the code. */
static void page_help(struct vx_buf *b, const struct vx_catalog *cat, const struct vx_locale *l,
                      const char *shop)
{
    char from[64];
    vx_buf_appends(b, "<p class=\"help\" id=\"voice_code_help\">");
    if (cat && cat->voice_code_threshold >= 0 &&
        vx_money_written(l, cat->voice_code_threshold, cat->currency, from, sizeof(from)) == 0) {
        vx_buf_appends(b, "Choose four digits to protect voice purchases: before an order of ");
        html_escape(b, from);
        vx_buf_appends(b, " or more from ");
        html_escape(b, shop);
        vx_buf_appends(b, " is charged, you will be asked for this code by voice.");
    } else {
        html_escape(b, shop);
        vx_buf_appends(b, " does not ask for a voice code at the moment; a code you set is kept "
                          "for when it does.");
    }
    vx_buf_appends(b, " Three wrong codes stop voice purchases until you set a new one here. "
                      "Leave the field empty to go on without a code.</p>");
}

/* The order with the field and the button; error: the message above the field, or NULL. */
static void page_form(struct server *s, const struct page_order *po, int status, const char *error,
                      struct server_reply *out)
{
    const struct vx_i18n *m = vx_fsm_i18n(s->fsm);
    const struct vx_locale *l = vx_i18n_get(m, po->locale);
    struct fsm_cat *hold = NULL;
    const struct vx_catalog *cat = vx_fsm_catalog_hold(s->fsm, &hold);
    const char *shop = cat ? vx_catalog_merchant_name(cat, l ? vx_locale_lang(l) : "en") : NULL;
    struct vx_buf *b = &out->body;
    char total[64];

    if (!l)
        l = vx_i18n_at(m, 0);
    if (!shop || !*shop)
        shop = "the shop";
    vx_money_written(l, po->o.total, po->o.currency, total, sizeof(total));
    out->status = status;
    out->content_type = "text/html; charset=utf-8";
    out->html_page = 1;
    b->len = 0;
    vx_buf_appends(b, page_head);
    vx_buf_appends(b, "Pay ");
    html_escape(b, shop);
    vx_buf_appends(b, page_style);
    vx_buf_appends(b, "<h1 id=\"shop\">");
    html_escape(b, shop);
    vx_buf_appends(b, "</h1><ul id=\"items\" aria-label=\"Your order\">");
    for (size_t i = 0; i < po->o.n; i++)
        page_line(b, cat, l, &po->o.lines[i], po->o.currency);
    vx_buf_appends(b, "</ul><p class=\"total\"><span>Total</span><span id=\"total\">");
    html_escape(b, total);
    vx_buf_appends(b, "</span></p><form method=\"post\">"
                      "<label for=\"voice_code\">Voice code (optional, 4 digits)</label>");
    if (error) {
        vx_buf_appends(b, "<p class=\"error\" id=\"voice_code_error\" role=\"alert\">");
        html_escape(b, error);
        vx_buf_appends(b, "</p>");
    }
    vx_buf_appendf(b,
                   "<input id=\"voice_code\" name=\"voice_code\" type=\"password\" "
                   "inputmode=\"numeric\" maxlength=\"4\" autocomplete=\"off\" "
                   "aria-describedby=\"%svoice_code_help\"%s>",
                   error ? "voice_code_error " : "", error ? " aria-invalid=\"true\"" : "");
    page_help(b, cat, l, shop);
    vx_buf_appends(b, "<button type=\"submit\" id=\"continue\">Continue to payment</button>"
                      "</form>");
    vx_buf_appends(b, page_tail);
    vx_fsm_catalog_drop(s->fsm, hold);
}

static void page_settled(struct server_reply *out, const char *state, int post)
{
    int paid = strcmp(state, "PAID") == 0 || strcmp(state, "PARTIALLY_REFUNDED") == 0 ||
               strcmp(state, "REFUNDED") == 0;
    page_plain(out, post ? 409 : 200, paid ? "Already paid" : "Order canceled",
               paid ? "This order is already paid. There is nothing more to do here."
                    : "This order was canceled or could not be paid, so it cannot be paid here "
                      "any more. Order again by voice.");
}

static void page_store_down(struct server_reply *out, const char *why)
{
    vx_warn("paypage", "the pay-link page could not be served: %s", why);
    page_plain(out, 503, "Please try again",
               "Your order cannot be read at the moment. Please reload this page in a minute.");
    out->outcome = VX_OUT_STORE_DOWN;
}

/* The 303 on to the provider's page. */
static enum paypage_wait page_go_on(struct paypage_call *pc, const struct page_order *po,
                                    struct server_reply *out)
{
    if (!po->pay_url[0] || !pay_url_ok(po->pay_url)) {
        vx_warn("paypage", "order %s has no provider's page to send the buyer on to",
                pc->who.order);
        page_plain(out, 409, "Payment page not available",
                   "This order cannot be paid from here. Open the link on the card in your "
                   "voice app again.");
        return PAYPAGE_DONE;
    }
    out->status = 303;
    out->content_type = "text/plain; charset=utf-8";
    out->html_page = 1;
    out->body.len = 0;
    vx_buf_appends(&out->body, "On to the payment page.\n");
    free(pc->location);
    pc->location = strdup(po->pay_url);
    if (!pc->location) {
        page_plain(out, 500, "Please try again", "Please reload this page.");
        return PAYPAGE_DONE;
    }
    out->location = pc->location;
    return PAYPAGE_DONE;
}

/* The form's one field: voice_code= (empty) or four digits; anything else is refused. */
static void read_form(struct paypage_call *pc, const char *body, size_t len)
{
    const char *end = body + len;
    for (const char *p = body; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *f_end = amp ? amp : end;
        if ((size_t)(f_end - p) >= 11 && memcmp(p, "voice_code=", 11) == 0) {
            size_t n = (size_t)(f_end - p) - 11;
            if (n > 4)
                pc->code_invalid = 1;
            else {
                memcpy(pc->code, p + 11, n);
                pc->code[n] = '\0';
                pc->code_invalid = n > 0 && !vx_vcode_valid(pc->code);
            }
        }
        p = f_end + 1;
    }
}

static enum paypage_wait read_order(struct paypage_call *pc, struct vx_store_op **op)
{
    pc->step = STEP_READ;
    vx_store_op_order_get(&pc->op, pc->who.skill, pc->who.user, pc->who.order);
    *op = &pc->op;
    return PAYPAGE_WAIT_STORE;
}

/* POST with a valid code: its stored form and the reset, while the order is pending. */
static enum paypage_wait write_code(struct paypage_call *pc, struct server_reply *out,
                                    struct vx_store_op **op)
{
    if (vx_vcode_hash(pc->code, &pc->hash) != 0) {
        page_plain(out, 500, "Please try again", "The code could not be saved. Please try again.");
        return PAYPAGE_DONE;
    }
    vx_wset_init(&pc->ws, pc->who.skill, pc->who.user);
    vx_wset_order_guard(&pc->ws, pc->who.order, "state", "\"CHARGE_PENDING\"");
    vx_wset_profile_set(&pc->ws, "voice_code", pc->hash.data);
    vx_wset_profile_set(&pc->ws, "voice_code_failures", "0");
    vx_wset_profile_set(&pc->ws, "voice_code_locked", "false");
    vx_store_op_release(&pc->op);
    pc->step = STEP_WRITE;
    vx_store_op_write(&pc->op, &pc->ws);
    *op = &pc->op;
    return PAYPAGE_WAIT_STORE;
}

enum paypage_wait paypage_start(struct server *s, struct paypage_call *pc, int post,
                                const char *body, size_t len, struct server_reply *out,
                                struct vx_store_op **op)
{
    (void)s;
    (void)out;
    vx_buf_init(&pc->hash);
    pc->post = post;
    if (post)
        read_form(pc, body, len);
    return read_order(pc, op);
}

enum paypage_wait paypage_continue(struct server *s, struct paypage_call *pc,
                                   struct server_reply *out, struct vx_store_op **op)
{
    struct page_order po;
    int rc = pc->op.rc;

    if (pc->step == STEP_WRITE) {
        if (rc == VX_ECONFLICT) {
            page_settled(out, "", 1);
            return PAYPAGE_DONE;
        }
        if (rc) {
            page_store_down(out, pc->op.err.msg);
            return PAYPAGE_DONE;
        }
        vx_info("paypage", "order %s: the customer set a voice code", pc->who.order);
        if (!pc->order || order_read(pc->order, &po) != 0)
            memset(&po, 0, sizeof(po));
        return page_go_on(pc, &po, out);
    }
    if (rc == VX_ENOTFOUND) {
        page_plain(out, 404, "Page not found",
                   "This order is not there any more. Order again by voice.");
        out->outcome = VX_OUT_NOT_FOUND;
        return PAYPAGE_DONE;
    }
    if (rc) {
        page_store_down(out, pc->op.err.msg);
        return PAYPAGE_DONE;
    }
    if (!pc->op.json || order_read(pc->op.json, &po) != 0) {
        page_store_down(out, "the order cannot be read");
        return PAYPAGE_DONE;
    }
    if (strcmp(po.o.state, "CHARGE_PENDING") != 0) {
        page_settled(out, po.o.state, pc->post);
        return PAYPAGE_DONE;
    }
    if (!pc->post) {
        page_form(s, &po, 200, NULL, out);
        return PAYPAGE_DONE;
    }
    if (pc->code_invalid) {
        page_form(s, &po, 400, "The voice code is four digits (0-9), or leave it empty.", out);
        out->outcome = VX_OUT_BAD_REQUEST;
        return PAYPAGE_DONE;
    }
    if (!pc->code[0])
        return page_go_on(pc, &po, out);
    pc->order = pc->op.json; /* kept for the redirect after the write */
    pc->op.json = NULL;
    return write_code(pc, out, op);
}

void paypage_call_release(struct paypage_call *pc)
{
    vx_store_op_release(&pc->op);
    vx_wset_release(&pc->ws);
    if (pc->hash.data)
        memset(pc->hash.data, 0, pc->hash.len);
    vx_buf_release(&pc->hash);
    free(pc->order);
    pc->order = NULL;
    free(pc->location);
    pc->location = NULL;
}
