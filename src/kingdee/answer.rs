//! Kingdee's answers read as hostile input: the login answer, and BatchSave's
//! `Result.ResponseStatus` turned into what became of each bill sent.

use serde_json::Value;

use super::KingdeeError;

/// Longest message of Kingdee's kept.
const MAX_MESSAGE: usize = 500;
/// Most errors or saved bills read from one answer.
const MAX_ENTRIES: usize = 1_000;
/// The `MsgCode` of an answer whose session is gone.
const MSG_CODE_SESSION_LOST: i64 = 1;

/// A value of an answer as text: strings as they are, numbers as written, null empty;
/// NUL dropped (PostgreSQL text cannot hold it) and bounded.
pub fn text(value: Option<&Value>) -> String {
    let raw = match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    crate::db::kept_text(&raw, MAX_MESSAGE)
}

/// Reads an answer's body as JSON: a UTF-8 byte-order mark is skipped, and an answer
/// that is a JSON string holding JSON (as some Kingdee versions write it) is unwrapped.
pub fn json(body: &[u8]) -> Result<Value, KingdeeError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let garbage =
        || KingdeeError::Garbage(String::from_utf8_lossy(body).chars().take(200).collect());
    let value: Value = serde_json::from_slice(body).map_err(|_| garbage())?;
    match value {
        Value::String(inner) => serde_json::from_str(&inner).map_err(|_| garbage()),
        value => Ok(value),
    }
}

/// Reads a login answer: `LoginResultType` 1 is success; anything else is refused with
/// Kingdee's `Message`.
pub fn login(answer: &Value) -> Result<(), KingdeeError> {
    let result_type = match answer.get("LoginResultType") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    match result_type {
        Some(1) => Ok(()),
        Some(code) => {
            let message = text(answer.get("Message"));
            Err(KingdeeError::LoginRefused(format!(
                "login result {code}: {}",
                if message.is_empty() {
                    "no message"
                } else {
                    &message
                }
            )))
        }
        // Not quoted: an answer that echoes the request would carry the password.
        None => Err(KingdeeError::Garbage(
            "the login answer has no LoginResultType".to_owned(),
        )),
    }
}

/// One entry of `Errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveError {
    /// `FieldName`.
    pub field: String,
    /// `Message`.
    pub message: String,
    /// `DIndex`: the bill it is about, when given.
    pub index: Option<usize>,
}

/// One entry of `SuccessEntitys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedBill {
    /// `Id`: the bill's internal id.
    pub id: String,
    /// `Number`: the bill's number.
    pub number: String,
    /// `DIndex`: the bill it is, when given.
    pub index: Option<usize>,
}

/// BatchSave's `Result.ResponseStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveAnswer {
    /// `IsSuccess`.
    pub is_success: bool,
    /// `MsgCode` (1: the session is gone).
    pub msg_code: i64,
    /// `Errors`.
    pub errors: Vec<SaveError>,
    /// `SuccessEntitys`.
    pub saved: Vec<SavedBill>,
}

fn index(value: Option<&Value>) -> Option<usize> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads BatchSave's answer; anything without `Result.ResponseStatus.IsSuccess` is garbage.
pub fn save(answer: &Value) -> Result<SaveAnswer, KingdeeError> {
    let status = answer
        .get("Result")
        .and_then(|result| result.get("ResponseStatus"))
        .filter(|status| status.is_object());
    let Some(status) = status else {
        return Err(KingdeeError::Garbage(
            answer.to_string().chars().take(200).collect(),
        ));
    };
    let Some(is_success) = status.get("IsSuccess").and_then(Value::as_bool) else {
        return Err(KingdeeError::Garbage(
            status.to_string().chars().take(200).collect(),
        ));
    };
    let entries = |name: &str| -> Vec<Value> {
        status
            .get(name)
            .and_then(Value::as_array)
            .map(|list| list.iter().take(MAX_ENTRIES).cloned().collect())
            .unwrap_or_default()
    };
    Ok(SaveAnswer {
        is_success,
        msg_code: match status.get("MsgCode") {
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            _ => 0,
        },
        errors: entries("Errors")
            .iter()
            .map(|error| SaveError {
                field: text(error.get("FieldName")),
                message: text(error.get("Message")),
                index: index(error.get("DIndex")),
            })
            .collect(),
        saved: entries("SuccessEntitys")
            .iter()
            .map(|bill| SavedBill {
                id: text(bill.get("Id")),
                number: text(bill.get("Number")),
                index: index(bill.get("DIndex")),
            })
            .collect(),
    })
}

impl SaveAnswer {
    /// Whether Kingdee says the session is gone ("会话信息已丢失，请重新登录").
    pub fn session_lost(&self) -> bool {
        !self.is_success
            && (self.msg_code == MSG_CODE_SESSION_LOST
                || self.errors.iter().any(|error| {
                    error.message.contains("会话信息已丢失") || error.message.contains("重新登录")
                }))
    }

    /// The messages of the answer, for the log.
    pub fn messages(&self) -> String {
        self.errors
            .iter()
            .map(|error| error.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// What became of each bill sent, by the bill numbers in the order sent.
    pub fn outcomes(&self, numbers: &[String]) -> Vec<BillOutcome> {
        let count = numbers.len();
        // Which bill an entry is about: its DIndex, else the number it names, else the
        // only bill sent.
        let locate = |index: Option<usize>, named: &str| -> Option<usize> {
            index
                .filter(|i| *i < count)
                .or_else(|| {
                    numbers
                        .iter()
                        .position(|no| !named.is_empty() && named == no)
                })
                .or_else(|| (count == 1).then_some(0))
        };
        let mut outcomes = vec![BillOutcome::Unanswered; count];
        let mut own_errors: Vec<Vec<&SaveError>> = vec![Vec::new(); count];
        let mut general: Vec<&SaveError> = Vec::new();
        for error in &self.errors {
            // The longest number it names: AS-1 is also found inside AS-10.
            let named = numbers
                .iter()
                .filter(|no| !no.is_empty() && error.message.contains(no.as_str()))
                .max_by_key(|no| no.len())
                .map(String::as_str)
                .unwrap_or_default();
            match locate(error.index, named) {
                Some(at) => own_errors[at].push(error),
                None => general.push(error),
            }
        }
        for (at, errors) in own_errors.iter().enumerate() {
            if errors.iter().any(|error| is_duplicate(error, &numbers[at])) {
                outcomes[at] = BillOutcome::AlreadyBooked;
            } else if !errors.is_empty() {
                outcomes[at] = BillOutcome::Refused(join(errors));
            } else if !general.is_empty() {
                outcomes[at] = BillOutcome::Refused(join(&general));
            }
        }
        for bill in &self.saved {
            if let Some(at) = locate(bill.index, &bill.number) {
                outcomes[at] = BillOutcome::Saved {
                    id: bill.id.clone(),
                    number: bill.number.clone(),
                };
            }
        }
        outcomes
    }
}

fn join(errors: &[&SaveError]) -> String {
    errors
        .iter()
        .map(|error| {
            if error.field.is_empty() {
                error.message.clone()
            } else {
                format!("{}: {}", error.field, error.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether an error says a bill of this number exists already (单据编号"…"已经存在,
/// 编码唯一…): about the bill number, and saying it is taken.
fn is_duplicate(error: &SaveError, bill_no: &str) -> bool {
    let about_the_number = error.field.eq_ignore_ascii_case("FBillNo")
        || error.message.contains("单据编号")
        || (!bill_no.is_empty() && error.message.contains(bill_no));
    let taken = ["已经存在", "已存在", "重复", "唯一"]
        .iter()
        .any(|word| error.message.contains(word));
    about_the_number && taken
}

/// What became of one bill sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillOutcome {
    /// Saved now, with Kingdee's id and number.
    Saved {
        /// `Id`.
        id: String,
        /// `Number`.
        number: String,
    },
    /// Kingdee holds a bill of this number already.
    AlreadyBooked,
    /// Refused, with Kingdee's messages.
    Refused(String),
    /// The answer says nothing about it.
    Unanswered,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn numbers(list: &[&str]) -> Vec<String> {
        list.iter().map(|no| no.to_string()).collect()
    }

    #[test]
    fn logins_are_read() {
        assert!(login(&json!({"LoginResultType": 1, "KDSVCSessionId": "s"})).is_ok());
        let refused = login(&json!({"LoginResultType": -1, "Message": "用户名或密码错误"}));
        assert!(
            matches!(refused, Err(KingdeeError::LoginRefused(ref m)) if m.contains("用户名或密码错误"))
        );
        assert!(matches!(
            login(&json!({"oops": 1})),
            Err(KingdeeError::Garbage(_))
        ));
    }

    #[test]
    fn bodies_are_json_even_wrapped() {
        assert_eq!(json(b"\xEF\xBB\xBF{\"a\":1}").unwrap(), json!({"a": 1}));
        assert_eq!(json(b"\"{\\\"a\\\":1}\"").unwrap(), json!({"a": 1}));
        assert!(matches!(json(b"<html>"), Err(KingdeeError::Garbage(_))));
    }

    #[test]
    fn each_bill_gets_its_outcome() {
        let answer = save(&json!({"Result": {"ResponseStatus": {
            "ErrorCode": 500, "IsSuccess": false, "MsgCode": 0,
            "Errors": [
                {"FieldName": "FMaterialId", "Message": "物料编码“X9”不存在", "DIndex": 1},
                {"FieldName": "FBillNo", "Message": "单据编号\"AS-3\"已经存在", "DIndex": 2}
            ],
            "SuccessEntitys": [{"Id": 100123, "Number": "AS-1", "DIndex": 0}],
            "SuccessMessages": []
        }}}))
        .unwrap();
        assert!(!answer.session_lost());
        assert_eq!(
            answer.outcomes(&numbers(&["AS-1", "AS-2", "AS-3", "AS-4"])),
            vec![
                BillOutcome::Saved {
                    id: "100123".to_owned(),
                    number: "AS-1".to_owned()
                },
                BillOutcome::Refused("FMaterialId: 物料编码“X9”不存在".to_owned()),
                BillOutcome::AlreadyBooked,
                BillOutcome::Unanswered,
            ]
        );
    }

    #[test]
    fn errors_without_an_index_are_placed_by_number_or_shared() {
        let answer = save(&json!({"Result": {"ResponseStatus": {"IsSuccess": false,
            "Errors": [{"Message": "单据编号AS-12在系统中已存在(编码唯一)"}, {"Message": "数据中心不可用"}]}}}))
        .unwrap();
        assert_eq!(
            answer.outcomes(&numbers(&["AS-1", "AS-12"])),
            vec![
                BillOutcome::Refused("数据中心不可用".to_owned()),
                BillOutcome::AlreadyBooked
            ]
        );
    }

    #[test]
    fn a_lost_session_and_garbage_are_recognised() {
        let lost = save(
            &json!({"Result": {"ResponseStatus": {"IsSuccess": false, "MsgCode": 1,
            "Errors": [{"Message": "会话信息已丢失，请重新登录"}]}}}),
        )
        .unwrap();
        assert!(lost.session_lost());
        for garbage in [
            json!({"Result": {}}),
            json!([1, 2]),
            json!({"Result": {"ResponseStatus": {"IsSuccess": "yes"}}}),
        ] {
            assert!(
                matches!(save(&garbage), Err(KingdeeError::Garbage(_))),
                "{garbage}"
            );
        }
        assert_eq!(text(Some(&json!("a\u{0}b"))), "ab");
        assert_eq!(text(Some(&json!(100123))), "100123");
    }
}
