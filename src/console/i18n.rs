//! The console's words in Chinese (the default) and English, from one table.
//!
//! Templates and handlers name a label by key; a key missing from the table shows as
//! itself, and a unit test checks every key the templates use is in the table.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The console's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 中文, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The code in the cookie and URLs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    /// Reads a code; anything else is `None`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "zh" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The other language (the switch offers it).
    pub fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }

    /// The label of `key` in this language.
    pub fn t(self, key: &str) -> &'static str {
        match LABELS.get(key) {
            Some((zh, en)) => match self {
                Self::Zh => zh,
                Self::En => en,
            },
            None => {
                tracing::debug!(key, "console label missing");
                "?"
            }
        }
    }

    /// The label of `key` with `{n}` replaced by `n`.
    pub fn t_n(self, key: &str, n: impl std::fmt::Display) -> String {
        self.t(key).replace("{n}", &n.to_string())
    }
}

static LABELS: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> =
    LazyLock::new(|| {
        TABLE
            .iter()
            .map(|(key, zh, en)| (*key, (*zh, *en)))
            .collect()
    });

/// Every label: key, Chinese, English.
const TABLE: &[(&str, &str, &str)] = &[
    ("brand.console", "运营控制台", "Operations console"),
    ("lang.name", "中文", "English"),
    ("lang.switch", "English", "中文"),
    ("nav.overview", "概览", "Overview"),
    ("nav.orders", "订单", "Orders"),
    ("nav.outbox", "出站队列", "Outbox"),
    ("nav.products", "商品与库存", "Products and stock"),
    ("nav.jobs", "定时任务", "Jobs"),
    ("nav.shops", "店铺", "Shops"),
    ("nav.operators", "操作员", "Operators"),
    ("nav.audit", "操作日志", "Audit log"),
    ("footer.times", "时间均为", "All times in"),
    ("action.sign_in", "登录", "Sign in"),
    ("action.sign_out", "退出", "Sign out"),
    ("action.search", "搜索", "Search"),
    ("action.retry", "重试", "Retry"),
    ("action.hold", "挂起", "Hold"),
    ("action.release", "放行", "Release"),
    ("action.save", "保存", "Save"),
    ("action.set_stock", "设置库存", "Set stock"),
    ("action.create", "创建", "Create"),
    ("action.disable", "停用", "Disable"),
    ("action.enable", "启用", "Enable"),
    ("action.older", "更早", "Older"),
    ("action.next_page", "下一页", "Next page"),
    ("action.back", "返回", "Back"),
    ("action.select_all", "全选", "Select all"),
    ("field.name", "用户名", "Name"),
    ("field.password", "密码", "Password"),
    ("field.role", "角色", "Role"),
    ("field.shop", "店铺", "Shop"),
    ("field.any", "全部", "All"),
    ("field.order_no", "订单号", "Order number"),
    ("field.status", "状态", "Status"),
    ("field.from", "下单日期从", "Placed from"),
    ("field.to", "到", "to"),
    ("field.target", "目标", "Target"),
    ("field.state", "状态", "State"),
    ("field.reason", "原因", "Reason"),
    ("field.query", "商品名称、编码或ID", "Name, code or id"),
    ("field.quantity", "数量", "Quantity"),
    ("sign_in.title", "登录控制台", "Sign in to the console"),
    (
        "sign_in.failed",
        "用户名或密码错误。",
        "Wrong name or password.",
    ),
    ("overview.title", "概览", "Overview"),
    (
        "overview.orders",
        "订单（按下单时间）",
        "Orders (by time placed)",
    ),
    ("overview.today", "今天", "Today"),
    ("overview.week", "近 7 天", "Last 7 days"),
    ("overview.period", "时段", "Period"),
    ("overview.total", "合计", "Total"),
    (
        "overview.polling",
        "ERP 轮询（最近一小时）",
        "ERP polling (last hour)",
    ),
    ("overview.method", "接口", "Method"),
    ("overview.calls", "调用", "Calls"),
    ("overview.errors", "错误", "Errors"),
    ("overview.subcode", "错误码", "Sub-code"),
    (
        "overview.no_calls",
        "最近一小时没有调用。",
        "No calls in the last hour.",
    ),
    ("overview.last_call", "最后调用", "Last call"),
    ("overview.never", "8 天内无调用", "none in 8 days"),
    ("overview.outbox", "出站队列", "Outbox"),
    ("overview.oldest_pending", "最早待发送", "Oldest pending"),
    ("overview.stuck", "失败与挂起的行", "Dead and held rows"),
    (
        "overview.none_stuck",
        "没有失败或挂起的行。",
        "No dead or held rows.",
    ),
    ("orders.title", "订单", "Orders"),
    ("orders.none", "没有符合条件的订单。", "No order matches."),
    ("orders.placed", "下单时间", "Placed"),
    ("orders.modified", "更新时间", "Modified"),
    ("orders.paid", "实付", "Paid"),
    ("order.title", "订单", "Order"),
    ("order.paid_at", "付款时间", "Paid at"),
    ("order.buyer", "买家", "Buyer"),
    ("order.receiver", "收货人", "Receiver"),
    ("order.memo", "卖家备注", "Seller memo"),
    ("order.lines", "商品明细", "Lines"),
    ("order.sub_no", "子订单号", "Sub-order"),
    ("order.product", "商品", "Product"),
    ("order.code", "商家编码", "Merchant code"),
    ("order.count", "数量", "Count"),
    ("order.shipped", "已发", "Shipped"),
    ("order.price", "单价", "Price"),
    ("order.refund_status", "退款状态", "Refund status"),
    ("order.shipments", "发货", "Shipments"),
    ("order.no_shipments", "尚未发货。", "Not shipped yet."),
    ("order.carrier", "物流公司", "Carrier"),
    ("order.tracking", "运单号", "Tracking number"),
    ("order.source", "来源", "Source"),
    ("order.at", "时间", "Time"),
    ("order.refunds", "退款", "Refunds"),
    ("order.no_refunds", "没有退款。", "No refunds."),
    ("order.refund_no", "退款单号", "Refund number"),
    ("order.amount", "金额", "Amount"),
    ("order.pickup", "核销码", "Pickup code"),
    ("order.pickup_none", "无核销码", "No pickup code"),
    ("order.pickup_open", "未核销", "Not redeemed"),
    ("order.pickup_used", "已核销", "Redeemed"),
    ("order.outbox", "出站记录", "Outbox rows"),
    ("order.no_outbox", "没有出站记录。", "No outbox rows."),
    ("outbox.title", "出站队列", "Outbox"),
    ("outbox.none", "没有符合条件的行。", "No rows match."),
    ("outbox.kind", "类型", "Kind"),
    ("outbox.subject", "对象", "Subject"),
    ("outbox.attempts", "尝试次数", "Attempts"),
    ("outbox.next", "下次尝试", "Next attempt"),
    ("outbox.error", "原因 / 最后错误", "Reason / last error"),
    ("outbox.selected", "对所选行：", "With the selected rows:"),
    ("products.title", "商品与库存", "Products and stock"),
    (
        "products.none",
        "没有符合条件的商品。",
        "No product matches.",
    ),
    ("products.id", "平台商品ID", "Product id"),
    ("products.skus", "规格数", "SKUs"),
    ("products.stock", "库存", "Stock"),
    ("products.on_sale", "在售", "On sale"),
    ("products.off_sale", "下架", "Off sale"),
    ("product.title", "商品库存", "Product stock"),
    ("product.sku", "规格ID", "SKU id"),
    ("product.spec", "规格", "Specification"),
    ("product.source", "最后变动来源", "Last changed by"),
    ("product.changed_at", "变动时间", "Changed at"),
    ("product.whole", "（无规格）", "(no SKUs)"),
    ("operators.title", "操作员", "Operators"),
    ("operators.new", "新建操作员", "New operator"),
    ("operators.created", "创建时间", "Created"),
    ("operators.last_sign_in", "最后登录", "Last sign-in"),
    ("operators.enabled", "启用", "Enabled"),
    ("operators.disabled", "已停用", "Disabled"),
    (
        "operators.password_rule",
        "至少 10 个字符",
        "At least 10 characters",
    ),
    ("shops.title", "店铺", "Shops"),
    ("shop.title", "店铺设置", "Shop settings"),
    ("shops.code", "店铺代码", "Code"),
    ("shops.name", "店铺名称", "Name"),
    ("shops.zone", "时区", "Time zone"),
    ("shops.integrations", "对接", "Integrations"),
    ("shops.origin", "设置来源", "Settings from"),
    ("shops.origin_file", "配置文件", "configuration file"),
    ("shops.origin_console", "控制台", "console"),
    ("shops.version", "版本", "Version"),
    ("shops.changed", "最后修改", "Last changed"),
    ("shops.enabled", "启用", "Enabled"),
    ("shops.disabled", "已停用", "Disabled"),
    ("shops.new", "新建店铺", "New shop"),
    (
        "shops.file_note",
        "配置文件中的店铺在启动时写入；在控制台修改过的店铺以控制台的设置为准，配置文件中的该店铺将被忽略。",
        "Shops of the configuration file are stored at start; once a shop is changed here, the console's settings stay and the file's entry of it is ignored.",
    ),
    (
        "shops.disable_note",
        "停用后 ERP、商城后台和仓库回调都视其为未知店铺，定时任务停止；数据保留。",
        "A disabled shop is unknown to the ERP, the admin API and the warehouse callback, and runs no jobs; its data stays.",
    ),
    ("shops.general", "基本信息", "General"),
    ("shops.not_used", "未启用", "not used"),
    ("shops.add", "添加", "Add"),
    ("shops.remove", "移除", "Remove"),
    ("shops.secret_set", "已设置", "set"),
    ("shops.secret_not_set", "未设置", "not set"),
    ("shops.secret_keep", "留空则保持不变", "blank keeps it"),
    ("shops.secret_clear", "清除", "clear"),
    (
        "shops.blank_keeps",
        "密钥不会显示；留空的密钥保持不变。",
        "Secrets are never shown; a blank secret keeps the stored one.",
    ),
    ("shops.map_rule", "每行 键 = 值", "one key = value a line"),
    ("shops.rotation", "轮换 appsecret", "Rotate the appsecret"),
    ("shops.new_appsecret", "新 appsecret", "New appsecret"),
    ("shops.overlap_minutes", "旧密钥继续有效（分钟）", "Old secret still verifies for (minutes)"),
    ("shops.rotate", "轮换", "Rotate"),
    (
        "shops.rotation_note",
        "新密钥立即生效；在重叠期内新旧两个密钥的签名都被接受。",
        "The new secret is in force at once; during the overlap, signs by either secret are accepted.",
    ),
    ("shops.overlap_until", "旧 appsecret 仍然有效，直到", "The previous appsecret still verifies until"),
    ("shops.end_overlap", "立即结束重叠期", "End the overlap now"),
    ("integration.polyapi", "菠萝派（ERP）", "Polyapi (ERP)"),
    ("integration.jushuitan", "聚水潭", "Jushuitan"),
    ("integration.wms", "仓库（奇门）", "Warehouse (Qimen)"),
    ("integration.kingdee", "金蝶云星空", "Kingdee K/3 Cloud"),
    ("jobs.title", "定时任务", "Jobs"),
    ("jobs.none", "没有定时任务。", "No jobs."),
    ("jobs.job", "任务", "Job"),
    ("jobs.every", "间隔", "Every"),
    ("jobs.last_run", "上次运行", "Last run"),
    ("jobs.outcome", "结果", "Outcome"),
    ("jobs.summary", "摘要", "Summary"),
    ("jobs.next", "下次运行", "Next run"),
    ("jobs.holder", "运行中的进程", "Running in"),
    ("jobs.ok", "成功", "ok"),
    ("jobs.failed", "失败", "failed"),
    ("jobs.never", "尚未运行", "not run yet"),
    ("jobs.not_registered", "等待首次排期", "not scheduled yet"),
    ("jobs.database", "（数据库）", "(database)"),
    ("audit.title", "操作日志", "Audit log"),
    ("audit.none", "还没有操作记录。", "Nothing recorded yet."),
    ("audit.actor", "操作人", "Who"),
    ("audit.action", "操作", "Action"),
    ("audit.subject", "对象", "Subject"),
    ("audit.detail", "详情", "Detail"),
    ("error.title", "无法完成", "Could not be done"),
    ("error.field", "字段", "Field"),
    (
        "notice.retried",
        "已重新排队 {n} 行。",
        "{n} rows queued again.",
    ),
    ("notice.held", "已挂起 {n} 行。", "{n} rows held."),
    ("notice.released", "已放行 {n} 行。", "{n} rows released."),
    (
        "notice.stock_set",
        "库存已设置为 {n}。",
        "Stock set to {n}.",
    ),
    ("notice.operator_saved", "操作员已保存。", "Operator saved."),
    ("notice.shop_saved", "店铺设置已保存并生效。", "Shop settings saved and in force."),
    ("notice.shop_unchanged", "没有改动。", "Nothing changed."),
    ("status.JH_01", "等待买家付款", "Awaiting payment"),
    ("status.JH_02", "等待卖家发货", "Awaiting shipment"),
    ("status.JH_03", "已发货", "Shipped"),
    ("status.JH_04", "交易成功", "Completed"),
    ("status.JH_05", "交易关闭", "Closed"),
    ("state.pending", "待发送", "Pending"),
    ("state.held", "挂起", "Held"),
    ("state.dead", "失败", "Dead"),
    ("state.done", "已完成", "Done"),
    ("target.jushuitan", "聚水潭", "Jushuitan"),
    ("target.wms", "仓库", "Warehouse"),
    ("target.kingdee", "金蝶云星空", "Kingdee"),
    ("kind.order", "订单", "Order"),
    ("kind.item", "商品", "Item"),
    ("kind.delivery_order", "发货单", "Delivery order"),
    ("kind.cancel", "取消", "Cancellation"),
    ("source.polyapi", "ERP（菠萝派）", "ERP (Polyapi)"),
    ("source.jushuitan", "聚水潭", "Jushuitan"),
    ("source.wms", "仓库", "Warehouse"),
    (
        "source.admin",
        "商城后台 / 导入",
        "Storefront (admin API or import)",
    ),
    ("source.console", "控制台操作员", "Console operator"),
    ("source.none", "未记录", "Not recorded"),
    ("role.viewer", "只读", "Viewer"),
    ("role.operator", "操作员", "Operator"),
    ("role.admin", "管理员", "Admin"),
    ("audit.sign_in", "登录", "Signed in"),
    ("audit.sign_out", "退出", "Signed out"),
    ("audit.outbox_retry", "重试出站行", "Retried outbox rows"),
    ("audit.outbox_hold", "挂起出站行", "Held outbox rows"),
    ("audit.outbox_release", "放行出站行", "Released outbox rows"),
    ("audit.stock_set", "设置库存", "Set stock"),
    ("audit.operator_add", "新建操作员", "Created an operator"),
    ("audit.operator_role", "修改角色", "Changed a role"),
    (
        "audit.operator_disable",
        "停用操作员",
        "Disabled an operator",
    ),
    ("audit.operator_enable", "启用操作员", "Enabled an operator"),
    ("audit.operator_password", "重设密码", "Replaced a password"),
    ("audit.shop_create", "新建店铺", "Created a shop"),
    ("audit.shop_change", "修改店铺设置", "Changed shop settings"),
    ("audit.shop_disable", "停用店铺", "Disabled a shop"),
    ("audit.shop_enable", "启用店铺", "Enabled a shop"),
    ("audit.shop_rotate_secret", "轮换 appsecret", "Rotated the appsecret"),
    ("audit.shop_end_overlap", "结束旧 appsecret 重叠期", "Ended the appsecret overlap"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        let mut seen = std::collections::HashSet::new();
        for (key, zh, en) in TABLE {
            assert!(seen.insert(*key), "`{key}` is in the table twice");
            assert!(!zh.is_empty() && !en.is_empty(), "`{key}` lacks a language");
        }
    }

    #[test]
    fn every_key_the_templates_use_is_in_the_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/console");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for part in text.split(".t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                assert!(
                    LABELS.contains_key(key),
                    "template key `{key}` is not in the table"
                );
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} keys found");
    }

    #[test]
    fn counts_fill_in() {
        assert_eq!(Lang::En.t_n("notice.held", 3), "3 rows held.");
        assert_eq!(Lang::Zh.t("nav.orders"), "订单");
        assert_eq!(Lang::En.t("no.such.key"), "?");
    }
}
