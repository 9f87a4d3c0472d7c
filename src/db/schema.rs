//! The shop database schema, written for both backends (see the migrations).

diesel::table! {
    /// The `shops` table.
    shops (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        utc_offset_minutes -> Integer,
        created_at -> Timestamp,
        modified_at -> Timestamp,
        jushuitan_enabled -> Bool,
        wms_enabled -> Bool,
        kingdee_enabled -> Bool,
    }
}

diesel::table! {
    /// The `products` table.
    products (id) {
        id -> BigInt,
        shop_id -> BigInt,
        plat_product_id -> Text,
        name -> Text,
        outer_id -> Text,
        price -> BigInt,
        quantity -> BigInt,
        picture_url -> Text,
        whse_code -> Text,
        on_sale -> Bool,
        created_at -> Timestamp,
        modified_at -> Timestamp,
        stock_source -> Text,
        stock_changed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The `skus` table.
    skus (id) {
        id -> BigInt,
        shop_id -> BigInt,
        product_id -> BigInt,
        sku_id -> Text,
        outer_id -> Text,
        price -> BigInt,
        quantity -> BigInt,
        name -> Text,
        property -> Text,
        picture_url -> Text,
        created_at -> Timestamp,
        modified_at -> Timestamp,
        stock_source -> Text,
        stock_changed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The `orders` table.
    orders (id) {
        id -> BigInt,
        shop_id -> BigInt,
        plat_order_no -> Text,
        trade_status -> Text,
        pay_time -> Nullable<Timestamp>,
        pay_order_no -> Text,
        nick -> Text,
        should_pay_type -> Text,
        order_type -> Text,
        send_date -> Text,
        send_style -> Text,
        currency_code -> Text,
        whse_code -> Text,
        customer_remark -> Text,
        seller_remark -> Text,
        seller_flag -> Text,
        post_fee -> BigInt,
        goods_fee -> BigInt,
        total_money -> BigInt,
        real_money -> BigInt,
        favourable_money -> BigInt,
        commission_value -> BigInt,
        cod_service_fee -> BigInt,
        created_at -> Timestamp,
        modified_at -> Timestamp,
        revision -> BigInt,
    }
}

diesel::table! {
    /// The `order_receivers` table.
    order_receivers (order_id) {
        order_id -> BigInt,
        shop_id -> BigInt,
        country -> Text,
        province -> Text,
        city -> Text,
        area -> Text,
        town -> Text,
        address -> Text,
        zip -> Text,
        phone -> Text,
        mobile -> Text,
        email -> Text,
        qq -> Text,
        receiver_name -> Text,
        card_type -> Text,
        id_card -> Text,
        id_card_true_name -> Text,
    }
}

diesel::table! {
    /// The `order_invoices` table.
    order_invoices (order_id) {
        order_id -> BigInt,
        shop_id -> BigInt,
        invoice_type -> Text,
        invoice_title -> Text,
        taxpayer_ident -> Text,
        invoice_content -> Text,
        registered_address -> Text,
        registered_phone -> Text,
        deposit_bank -> Text,
        bank_account -> Text,
    }
}

diesel::table! {
    /// The `order_customs` table.
    order_customs (order_id) {
        order_id -> BigInt,
        shop_id -> BigInt,
        is_overseas -> Bool,
        tax_amount -> BigInt,
        tariff_amount -> BigInt,
        added_value_amount -> BigInt,
        consumption_duty_amount -> BigInt,
        pay_id -> Text,
        pay_name -> Text,
        business_plat_code -> Text,
        business_plat_name -> Text,
    }
}

diesel::table! {
    /// The `order_lines` table.
    order_lines (id) {
        id -> BigInt,
        shop_id -> BigInt,
        order_id -> BigInt,
        sub_order_no -> Text,
        product_id -> Text,
        outer_id -> Text,
        name -> Text,
        spec -> Text,
        goods_count -> BigInt,
        shipped_count -> BigInt,
        price -> BigInt,
        discount_money -> BigInt,
        tax_amount -> BigInt,
        refund_status -> Text,
        status -> Nullable<Text>,
        remark -> Text,
    }
}

diesel::table! {
    /// The `pickup_codes` table.
    pickup_codes (order_id) {
        order_id -> BigInt,
        shop_id -> BigInt,
        code -> Text,
        redeemed_at -> Nullable<Timestamp>,
        store_id -> Nullable<Text>,
        verify_way -> Nullable<Text>,
    }
}

diesel::table! {
    /// The `shipments` table.
    shipments (id) {
        id -> BigInt,
        shop_id -> BigInt,
        order_id -> BigInt,
        logistic_type -> Text,
        logistic_name -> Text,
        logistic_no -> Text,
        send_type -> Text,
        sender_name -> Text,
        sender_tel -> Text,
        sender_address -> Text,
        source -> Text,
        created_at -> Timestamp,
        order_type -> Text,
        is_hwg_flag -> Bool,
    }
}

diesel::table! {
    /// The `shipment_lines` table.
    shipment_lines (id) {
        id -> BigInt,
        shop_id -> BigInt,
        shipment_id -> BigInt,
        order_line_id -> BigInt,
        goods_count -> BigInt,
    }
}

diesel::table! {
    /// The `refunds` table.
    refunds (id) {
        id -> BigInt,
        shop_id -> BigInt,
        refund_no -> Text,
        plat_order_no -> Text,
        sub_plat_order_no -> Text,
        order_id -> Nullable<BigInt>,
        total_amount -> BigInt,
        pay_amount -> BigInt,
        buyer_nick -> Text,
        seller_nick -> Text,
        order_status -> Text,
        refund_status -> Text,
        goods_status -> Text,
        has_goods_return -> Bool,
        reason -> Text,
        description -> Text,
        product_num -> BigInt,
        logistic_name -> Text,
        logistic_no -> Text,
        created_at -> Timestamp,
        modified_at -> Timestamp,
    }
}

diesel::table! {
    /// The `refund_goods` table.
    refund_goods (id) {
        id -> BigInt,
        shop_id -> BigInt,
        refund_id -> BigInt,
        plat_product_id -> Text,
        outer_id -> Text,
        sku -> Text,
        product_name -> Text,
        refund_amount -> BigInt,
        reason -> Text,
        product_num -> BigInt,
        po_no -> Text,
        sub_order_no -> Text,
    }
}

diesel::table! {
    /// The `outbox` table.
    outbox (id) {
        id -> BigInt,
        shop_id -> BigInt,
        target -> Text,
        kind -> Text,
        subject -> Text,
        state -> Text,
        version -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        modified_at -> Timestamp,
    }
}

diesel::table! {
    /// The `jushuitan_tokens` table.
    jushuitan_tokens (shop_id) {
        shop_id -> BigInt,
        access_token -> Text,
        refresh_token -> Text,
        expires_at -> Nullable<Timestamp>,
        modified_at -> Timestamp,
    }
}

diesel::table! {
    /// The `sync_cursors` table.
    sync_cursors (shop_id, job) {
        shop_id -> BigInt,
        job -> Text,
        position -> Timestamp,
        modified_at -> Timestamp,
        position_id -> BigInt,
    }
}

diesel::table! {
    /// The `wms_confirmations` table.
    wms_confirmations (shop_id, out_biz_code) {
        shop_id -> BigInt,
        out_biz_code -> Text,
        plat_order_no -> Text,
        status -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    /// The `order_counts` table.
    order_counts (shop_id, time_kind, span, starts_at, trade_status) {
        shop_id -> BigInt,
        time_kind -> Text,
        span -> Text,
        starts_at -> Timestamp,
        trade_status -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    /// The `order_count_changes` table (SQLite keys it by all but `delta`; PostgreSQL
    /// gives each row an `id` that polymall never reads).
    order_count_changes (shop_id, time_kind, at, trade_status) {
        shop_id -> BigInt,
        time_kind -> Text,
        at -> Timestamp,
        trade_status -> Text,
        delta -> BigInt,
    }
}

diesel::table! {
    /// The `order_count_folds` table: one row, the number of folds that moved pending
    /// changes into `order_counts`.
    order_count_folds (id) {
        id -> Integer,
        folds -> BigInt,
    }
}

diesel::table! {
    /// The `after_sales` table.
    after_sales (id) {
        id -> BigInt,
        shop_id -> BigInt,
        as_id -> Text,
        so_id -> Text,
        o_id -> Text,
        kind -> Text,
        as_type -> Text,
        status -> Text,
        shop_status -> Text,
        good_status -> Text,
        refund -> BigInt,
        payment -> BigInt,
        freight -> BigInt,
        wms_co_id -> Text,
        warehouse -> Text,
        l_id -> Text,
        logistics_company -> Text,
        question_type -> Text,
        remark -> Text,
        confirm_date -> Nullable<Timestamp>,
        as_date -> Nullable<Timestamp>,
        order_id -> Nullable<BigInt>,
        refund_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        modified_at -> Timestamp,
        received_at -> Timestamp,
    }
}

diesel::table! {
    /// The `after_sale_lines` table.
    after_sale_lines (id) {
        id -> BigInt,
        shop_id -> BigInt,
        after_sale_id -> BigInt,
        asi_id -> Text,
        line_type -> Text,
        sku_id -> Text,
        outer_oi_id -> Text,
        sub_order_no -> Text,
        name -> Text,
        properties_value -> Text,
        qty -> BigInt,
        r_qty -> BigInt,
        price -> BigInt,
        amount -> BigInt,
    }
}

diesel::table! {
    /// The `after_sale_batches` table.
    after_sale_batches (id) {
        id -> BigInt,
        shop_id -> BigInt,
        line_id -> BigInt,
        sku_id -> Text,
        qty -> BigInt,
        batch_no -> Text,
        product_date -> Text,
        supplier_id -> Text,
        supplier_name -> Text,
    }
}

diesel::table! {
    /// The `operators` table.
    operators (id) {
        id -> BigInt,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        modified_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The `operator_sessions` table.
    operator_sessions (id_hash) {
        id_hash -> Text,
        operator_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// The `audit_log` table.
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        shop_id -> Nullable<BigInt>,
        subject -> Text,
        detail -> Text,
    }
}

diesel::table! {
    /// The `polyapi_calls` table.
    polyapi_calls (shop_id, minute, method, outcome) {
        shop_id -> BigInt,
        minute -> Timestamp,
        method -> Text,
        outcome -> Text,
        calls -> BigInt,
        last_call_at -> Timestamp,
    }
}

diesel::table! {
    /// The `shop_settings` table.
    shop_settings (shop_id) {
        shop_id -> BigInt,
        settings -> Text,
        enabled -> Bool,
        origin -> Text,
        version -> BigInt,
        previous_appsecret -> Nullable<Text>,
        previous_appsecret_until -> Nullable<Timestamp>,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    /// The `shop_settings_revision` table.
    shop_settings_revision (id) {
        id -> Integer,
        revision -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::joinable!(products -> shops (shop_id));
diesel::joinable!(shop_settings -> shops (shop_id));
diesel::joinable!(operator_sessions -> operators (operator_id));
diesel::joinable!(outbox -> shops (shop_id));
diesel::joinable!(skus -> products (product_id));
diesel::joinable!(orders -> shops (shop_id));
diesel::joinable!(order_receivers -> orders (order_id));
diesel::joinable!(order_invoices -> orders (order_id));
diesel::joinable!(order_customs -> orders (order_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(pickup_codes -> orders (order_id));
diesel::joinable!(shipments -> orders (order_id));
diesel::joinable!(shipment_lines -> shipments (shipment_id));
diesel::joinable!(shipment_lines -> order_lines (order_line_id));
diesel::joinable!(refunds -> shops (shop_id));
diesel::joinable!(refund_goods -> refunds (refund_id));
diesel::joinable!(after_sale_lines -> after_sales (after_sale_id));
diesel::joinable!(after_sale_batches -> after_sale_lines (line_id));

diesel::table! {
    /// The `scheduled_jobs` table.
    scheduled_jobs (shop_id, job) {
        shop_id -> BigInt,
        job -> Text,
        interval_secs -> BigInt,
        next_due_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_started_at -> Nullable<Timestamp>,
        last_finished_at -> Nullable<Timestamp>,
        last_outcome -> Nullable<Text>,
        last_summary -> Nullable<Text>,
        last_success_at -> Nullable<Timestamp>,
        runs -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    shops,
    products,
    skus,
    orders,
    order_receivers,
    order_invoices,
    order_customs,
    order_lines,
    pickup_codes,
    shipments,
    shipment_lines,
    refunds,
    refund_goods,
    outbox,
    jushuitan_tokens,
    sync_cursors,
    wms_confirmations,
    order_counts,
    order_count_changes,
    order_count_folds,
    after_sales,
    after_sale_lines,
    after_sale_batches,
    scheduled_jobs,
    operators,
    operator_sessions,
    audit_log,
    polyapi_calls,
    shop_settings,
    shop_settings_revision,
);

diesel::table! {
    /// The `kingdee_bookings` table.
    kingdee_bookings (shop_id, bill_no) {
        shop_id -> BigInt,
        bill_no -> Text,
        source -> Text,
        outcome -> Text,
        kingdee_id -> Text,
        kingdee_number -> Text,
        booked_at -> Timestamp,
    }
}
