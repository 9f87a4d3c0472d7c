//! The status codes the shop stores, with their meaning. This is the one place that
//! maps a code to its description; every protocol reads it from here.

/// Defines a code enum with its wire code and Chinese description.
macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal, $desc:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The code as stored and sent, e.g. `JH_02`.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }

            /// The description the seed document gives for the code.
            pub fn description(self) -> &'static str {
                match self { $(Self::$variant => $desc,)+ }
            }

            /// Reads a code. Bare digits (`"02"`, seen from some peers) mean `JH_02`.
            pub fn from_code(text: &str) -> Option<Self> {
                let text = text.trim();
                let owned;
                let text = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                    owned = format!("JH_{text}");
                    owned.as_str()
                } else {
                    text
                };
                Self::ALL.iter().copied().find(|v| v.code().eq_ignore_ascii_case(text))
            }

            /// The accepted codes, for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_enum! {
    /// An order's trade status.
    TradeStatus {
        /// Awaiting the buyer's payment.
        AwaitingPayment = "JH_01", "等待买家付款";
        /// Paid, awaiting shipment.
        AwaitingShipment = "JH_02", "等待卖家发货";
        /// Shipped, awaiting the buyer's confirmation.
        Shipped = "JH_03", "等待买家确认收货";
        /// Completed.
        Completed = "JH_04", "交易成功";
        /// Closed.
        Closed = "JH_05", "交易关闭";
    }
}

code_enum! {
    /// The refund status of an order line or a refund.
    RefundStatus {
        /// The buyer asked for a refund, awaiting the seller.
        Requested = "JH_01", "买家已经申请退款等待卖家同意";
        /// The seller agreed, awaiting the buyer's return.
        AwaitingReturn = "JH_02", "卖家已经同意退款等待买家退货";
        /// The buyer returned the goods, awaiting the seller's receipt.
        Returned = "JH_03", "买家已经退货等待卖家确认收货";
        /// The seller refused.
        Refused = "JH_04", "卖家拒绝退款";
        /// The refund was closed.
        Closed = "JH_05", "退款关闭";
        /// The refund succeeded.
        Succeeded = "JH_06", "退款成功";
        /// No refund.
        None = "JH_07", "没有退款";
        /// Some lines refunded, others not (an order-level answer).
        Partial = "JH_09", "部分退款";
        /// Anything else.
        Other = "JH_99", "其他";
    }
}

impl RefundStatus {
    /// Whether a refund in this state is still being handled (blocks shipping until settled).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Requested | Self::AwaitingReturn | Self::Returned
        )
    }
}

code_enum! {
    /// The order status a refund record reports (GetRefund's `orderstatus`).
    RefundOrderStatus {
        /// Awaiting payment.
        AwaitingPayment = "JH_01", "等待买家付款";
        /// Awaiting shipment.
        AwaitingShipment = "JH_02", "等待卖家发货";
        /// Shipped.
        Shipped = "JH_03", "等待买家确认收货";
        /// Completed.
        Completed = "JH_04", "交易成功";
        /// Closed.
        Closed = "JH_05", "交易关闭";
        /// Paused.
        Paused = "JH_06", "已暂停";
        /// Locked.
        Locked = "JH_07", "已锁定";
        /// Partly shipped.
        PartlyShipped = "JH_08", "卖家部分发货";
        /// Frozen.
        Frozen = "JH_09", "订单冻结";
        /// Out of stock.
        OutOfStock = "JH_10", "缺货订单";
        /// Return order.
        ReturnOrder = "JH_11", "退货订单";
        /// Complaint.
        Complaint = "JH_12", "投诉订单";
        /// Split.
        Split = "JH_13", "已拆单";
        /// Return or exchange.
        ReturnOrExchange = "JH_14", "退换货订单";
        /// Other.
        Other = "JH_98", "其他";
        /// All orders.
        All = "JH_99", "所有订单";
    }
}

code_enum! {
    /// Where the refunded goods are (GetRefund's `goodsstatus`).
    GoodsStatus {
        /// The buyer has not received the goods.
        NotReceived = "JH_01", "买家未收到货";
        /// The buyer received the goods.
        Received = "JH_02", "买家已收到货";
        /// The buyer sent the goods back.
        SentBack = "JH_03", "买家已退货";
        /// Other.
        Other = "JH_98", "其他";
    }
}

code_enum! {
    /// The colour flag a seller puts on an order.
    SellerFlag {
        /// No flag.
        None = "JH_None", "无";
        /// Grey.
        Gray = "JH_Gray", "灰";
        /// Red.
        Red = "JH_Red", "红";
        /// Yellow.
        Yellow = "JH_Yellow", "黄";
        /// Green.
        Green = "JH_Green", "绿";
        /// Blue.
        Blue = "JH_Blue", "蓝";
        /// Purple.
        Purple = "JH_Purple", "紫";
    }
}

code_enum! {
    /// A product's sale status.
    SaleStatus {
        /// On sale.
        OnSale = "JH_01", "已上架商品";
        /// Off sale.
        OffSale = "JH_02", "已下架商品";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_digits_are_accepted() {
        for status in TradeStatus::ALL {
            assert_eq!(TradeStatus::from_code(status.code()), Some(*status));
        }
        assert_eq!(RefundStatus::from_code("99"), Some(RefundStatus::Other));
        assert_eq!(
            RefundStatus::from_code("jh_06"),
            Some(RefundStatus::Succeeded)
        );
        assert_eq!(TradeStatus::from_code("JH_06"), None);
        assert_eq!(SellerFlag::from_code("JH_Red"), Some(SellerFlag::Red));
        assert!(TradeStatus::expected().contains("JH_05"));
    }
}
