//! `db copy`: the whole history from one database into an empty one of
//! either backend, in one transaction on the target, with the row count of
//! every table verified. Tables are copied in the order they were created
//! (migrations create a table only after those it refers to), rows in id
//! order, ids kept, so every reference (a pending forward's token, a reply's
//! request) still ties up. Leases are not copied: they belong to the daemons
//! of the old database.

use sqlx::any::AnyRow;
use sqlx::{Row, TypeInfo, ValueRef};

use super::{Backend, Result, Store, StoreError, Tx};

/// Tables never copied: the migrator's own, and leases (reset).
const SKIPPED: &[&str] = &["_sqlx_migrations", "leases", "sqlite_sequence"];

/// Rows copied per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: String,
    pub rows: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target database is not empty: {table} has {rows} row(s)")]
    TargetNotEmpty { table: String, rows: i64 },
    #[error("the target has no table {0}: is it migrated by the same circle-relay version?")]
    MissingTable(String),
    #[error("{table}: {source_rows} row(s) in the source but {target_rows} in the target")]
    CountMismatch {
        table: String,
        source_rows: i64,
        target_rows: i64,
    },
    #[error("{table}.{column}: {message}")]
    Value {
        table: String,
        column: String,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

/// Copies every table of `source` into `target` (migrated, empty).
pub async fn copy_all(
    source: &Store,
    target: &Store,
) -> std::result::Result<Vec<TableCount>, CopyError> {
    let tables = tables(source).await?;
    let target_tables = tables_of(target).await?;
    for t in &tables {
        if !target_tables.contains(t) {
            return Err(CopyError::MissingTable(t.clone()));
        }
        let rows = count(target.pool(), t).await?;
        if rows > 0 {
            return Err(CopyError::TargetNotEmpty {
                table: t.clone(),
                rows,
            });
        }
    }
    let mut tx = target.begin().await?;
    let mut counts = Vec::new();
    let mut with_ids = Vec::new();
    for t in &tables {
        let columns = columns(target, t).await?;
        if columns
            .iter()
            .any(|c| c.name == "id" && c.kind == Kind::Int)
        {
            with_ids.push(t.clone());
        }
        let copied = copy_table(source, &mut tx, t, &columns).await?;
        let target_rows = count(&mut *tx, t).await?;
        let source_rows = count(source.pool(), t).await?;
        if target_rows != source_rows || copied != source_rows {
            return Err(CopyError::CountMismatch {
                table: t.clone(),
                source_rows,
                target_rows,
            });
        }
        counts.push(TableCount {
            table: t.clone(),
            rows: target_rows,
        });
    }
    if target.backend() == Backend::Postgres {
        reset_sequences(&mut tx, &with_ids).await?;
    }
    tx.commit().await?;
    Ok(counts)
}

/// A column of the target and the kind of value it takes.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

impl Kind {
    fn of_declared(t: &str) -> Self {
        let t = t.to_ascii_lowercase();
        if t.contains("int") || t.contains("serial") {
            Self::Int
        } else if t.contains("real") || t.contains("double") || t.contains("float") {
            Self::Real
        } else if t.contains("blob") || t.contains("bytea") {
            Self::Blob
        } else {
            Self::Text
        }
    }
}

/// One value on its way, converted to the target column's kind.
#[derive(Debug, Clone)]
enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

async fn copy_table(
    source: &Store,
    tx: &mut Tx<'_>,
    table: &str,
    columns: &[Column],
) -> std::result::Result<i64, CopyError> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let select = format!("SELECT {} FROM {table} ORDER BY 1", names.join(", "));
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        placeholders.join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(select))
        .fetch_all(source.pool())
        .await?;
    for row in &rows {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.as_str()));
        for (i, c) in columns.iter().enumerate() {
            q = match value(row, i, c).map_err(|message| CopyError::Value {
                table: table.to_string(),
                column: c.name.clone(),
                message,
            })? {
                Value::Int(v) => q.bind(v),
                Value::Real(v) => q.bind(v),
                Value::Text(v) => q.bind(v),
                Value::Blob(v) => q.bind(v),
            };
        }
        q.execute(&mut **tx).await?;
    }
    Ok(rows.len() as i64)
}

/// Reads column `i` as what the source holds, converted to `c`'s kind.
fn value(row: &AnyRow, i: usize, c: &Column) -> std::result::Result<Value, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    let held = raw.type_info().name().to_ascii_uppercase();
    if raw.is_null() {
        return Ok(match c.kind {
            Kind::Int => Value::Int(None),
            Kind::Real => Value::Real(None),
            Kind::Text => Value::Text(None),
            Kind::Blob => Value::Blob(None),
        });
    }
    let err = |e: sqlx::Error| format!("{held} value: {e}");
    Ok(match c.kind {
        Kind::Int => Value::Int(Some(row.try_get::<i64, _>(i).map_err(err)?)),
        Kind::Real => Value::Real(Some(match row.try_get::<f64, _>(i) {
            Ok(v) => v,
            Err(_) => row.try_get::<i64, _>(i).map_err(err)? as f64,
        })),
        Kind::Text => Value::Text(Some(match row.try_get::<String, _>(i) {
            Ok(v) => v,
            Err(_) => {
                let bytes = row.try_get::<Vec<u8>, _>(i).map_err(err)?;
                String::from_utf8(bytes).map_err(|_| "bytes that are not UTF-8 text".to_string())?
            }
        })),
        Kind::Blob => Value::Blob(Some(match row.try_get::<Vec<u8>, _>(i) {
            Ok(v) => v,
            Err(_) => row.try_get::<String, _>(i).map_err(err)?.into_bytes(),
        })),
    })
}

/// The source's tables in creation order, without the skipped ones.
async fn tables(store: &Store) -> Result<Vec<String>> {
    Ok(tables_of(store)
        .await?
        .into_iter()
        .filter(|t| !SKIPPED.contains(&t.as_str()))
        .collect())
}

async fn tables_of(store: &Store) -> Result<Vec<String>> {
    let sql = match store.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        }
        Backend::Postgres => {
            "SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY c.oid"
        }
    };
    let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(store.pool()).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

async fn columns(store: &Store, table: &str) -> Result<Vec<Column>> {
    let sql = match store.backend() {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows: Vec<(String, String)> = sqlx::query_as(sql)
        .bind(table)
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, t)| Column {
            kind: Kind::of_declared(&t),
            name,
        })
        .collect())
}

async fn count<'e, E>(executor: E, table: &str) -> Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(executor)
    .await?)
}

/// PostgreSQL's id sequences continue after the copied ids (`tables`: those
/// with an integer `id`).
async fn reset_sequences(tx: &mut Tx<'_>, tables: &[String]) -> Result<()> {
    for t in tables {
        let (seq,): (Option<String>,) = sqlx::query_as("SELECT pg_get_serial_sequence($1, 'id')")
            .bind(t)
            .fetch_one(&mut **tx)
            .await?;
        if let Some(seq) = seq {
            let sql = format!(
                "SELECT setval('{seq}', COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}
