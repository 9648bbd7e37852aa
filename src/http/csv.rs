//! CSV files for spreadsheet programs: UTF-8 with a byte-order mark (so Excel
//! and WPS show Chinese text correctly) and cells that cannot run as formulas.

use crate::error::ApiError;

/// A cell safe to open in a spreadsheet: formulas are neutralised.
pub fn cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The bytes of a CSV file: the header row, then every row (cells as given;
/// pass text a person typed through [`cell`]).
pub fn file<R, I>(header: &[&str], rows: R) -> Result<Vec<u8>, ApiError>
where
    R: IntoIterator<Item = I>,
    I: IntoIterator<Item = String>,
{
    let fail = |e: csv::Error| ApiError::internal(format!("writing csv: {e}"));
    let mut out = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    out.write_record(header).map_err(fail)?;
    for row in rows {
        out.write_record(row).map_err(fail)?;
    }
    out.into_inner()
        .map_err(|e| ApiError::internal(format!("writing csv: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_the_file_starts_with_a_bom() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("张三"), "张三");
        let bytes = file(&["姓名"], [vec![cell("@x")]]).unwrap_or_default();
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        assert_eq!(String::from_utf8_lossy(&bytes[3..]), "姓名\n'@x\n");
    }
}
