// The administration pages' strings, one table per section so each section keeps its words next
// to it; merged into the inbox's languages by i18n.js. Keys start with "admin.".
import * as business from "./business.js";
import * as common from "./common.js";
import * as queues from "./queues.js";
import * as replies from "./replies.js";
import * as widget from "./widget.js";
import * as mail from "./mail.js";
import * as integrations from "./integrations.js";
import * as health from "./health.js";
import * as phone from "./phone.js";

const SECTIONS = [common, business, queues, replies, widget, mail, integrations, health, phone];

export const en = Object.assign({}, ...SECTIONS.map((s) => s.en));
export const zhCN = Object.assign({}, ...SECTIONS.map((s) => s.zhCN));
