"""Every row-level rule ingestion applies: what happens to the row and what the clerk is told.

action: `quarantine` (row kept out of the warehouse, listed in audit.quarantine and the
feedback file), `flag` (row loaded, finding listed in audit.row_flags), `normalise`
(value corrected mechanically, recorded in audit.row_flags so the department can fix its export).

A `quarantine` finding keeps the whole row out only when it concerns the whole row (column '*', the
duplicate rules) or a row-critical column (contracts: Column.is_row_critical, e.g. the township code,
a record id). On any other column the loader turns it into `exclude_field`: the row is loaded with that
field blanked (NULL; an invalid ID number gives a NULL pseudonym) and named in the row's
`_invalid_fields`, the finding goes to audit.row_flags with the reason below plus EXCLUDE_FIELD_ZH/EN,
and the record still counts in every indicator that does not need the field (dbt `needs`).
"""
from __future__ import annotations

RULES: dict[str, tuple[str, str, str]] = {
    # rule_id: (action, reason in Chinese for the clerk, reason in English)
    "field_count_mismatch": ("quarantine", "该行字段数与表头不一致（可能是截断或多余的分隔符），请核对该行。", "Row has a different number of fields than the header."),
    # Lines the reader could not turn into rows, and findings from the file's bytes or cells (reader.py).
    "undecodable_line": ("quarantine", "该行含有既不是UTF-8也不是GBK的字节，文字无法识别；请核对该行，或将整个文件另存为UTF-8编码的CSV。", "Line holds bytes that are neither UTF-8 nor GBK; its text cannot be read."),
    "truncated_line": ("quarantine", "文件在该行中途结束（文件可能被截断或未传完），请重新导出完整文件。", "The file ends in the middle of this line (truncated file?)."),
    "control_characters": ("quarantine", "该行含有不可见的控制字符（如NUL），文件可能已损坏，请核对该行。", "Line contains control characters (e.g. NUL); the file may be damaged."),
    "line_too_long": ("quarantine", "该行过长（超过10万个字符），不是正常的数据行，可能缺少换行符。", "Line is longer than 100,000 characters: not a data row (missing line breaks?)."),
    "repeated_header": ("quarantine", "该行重复了表头（可能由多个文件拼接而成），不是数据行。", "Line repeats the header (files pasted together?); not a data row."),
    "formula_without_value": ("quarantine", "该单元格是公式但没有保存计算结果，请在Excel中打开、重新计算并保存（或粘贴为数值）后重新报送。", "Formula cell without a cached value; open the workbook in Excel, recalculate and save (or paste as values)."),
    "hidden_row": ("quarantine", "该行在工作表中被隐藏，未入库；如该行是有效数据请取消隐藏后重新报送。", "The row is hidden in the worksheet and was not loaded; if it is valid data, unhide it and send the file again."),
    "cell_error_value": ("quarantine", "该单元格是Excel错误值（如#DIV/0!、#REF!、#N/A），请改正后重新报送。", "Cell holds an Excel error value (#DIV/0!, #REF!, #N/A, ...)."),
    "mixed_encoding": ("normalise", "该行的编码与文件其他行不同（UTF-8与GBK混用），已按该行自身的编码读取；请统一另存为UTF-8。", "Line is in a different encoding from the rest of the file (UTF-8 and GBK mixed); read in its own encoding."),
    "merged_cell_filled": ("normalise", "合并单元格的值已填入该行。", "Value of a merged cell filled into this row."),
    "last_line_unterminated": ("flag", "文件最后一行之后没有换行符，文件可能不完整，请核对最后一行是否完整。", "No line break after the last row: the file may be truncated; check the last row."),
    "missing_required_column": ("quarantine", "文件缺少必需列，整份文件未入库，请按模板补齐列后重新报送。", "A required column is missing; the whole file was rejected."),
    "missing_required": ("quarantine", "必填项为空，请补填。", "A required value is blank."),
    "invalid_number": ("quarantine", "不是有效的数字。", "Not a valid number."),
    "number_not_exact": ("quarantine", "数值位数过多（超过15位有效数字），无法精确保存，请核对该单元格（如误填了身份证号等编号）。", "Too many digits (more than 15 significant digits) to be stored exactly; check the cell (an ID or other number typed in?)."),
    "id_number_in_value": ("quarantine", "该数值形似身份证号（15位旧号码），未入库；请核对该单元格是否误填了身份证号。", "The number is shaped like an (old, 15-digit) ID number and was not stored; check whether an ID number was typed into the cell."),
    "negative_value": ("quarantine", "数值不能为负数。", "Value must not be negative."),
    "out_of_range": ("quarantine", "数值超出模板允许范围。", "Value outside the template's range."),
    "invalid_date_format": ("quarantine", "日期格式无法识别（请用YYYY-MM-DD）。", "Unrecognised date format (use YYYY-MM-DD)."),
    "impossible_date": ("quarantine", "日期不存在（如2月30日）。", "The date does not exist."),
    "future_date": ("quarantine", "日期晚于报送期末或今天，不可能发生。", "Date after the end of the reporting period or today."),
    "dates_out_of_order": ("quarantine", "日期先后顺序矛盾（如死亡早于出生）。", "Dates out of order (e.g. death before birth)."),
    "invalid_bool": ("quarantine", "应填是/否。", "Expected yes/no."),
    "invalid_sex": ("quarantine", "性别代码无效（应为1男、2女或男/女）。", "Invalid sex code."),
    "unknown_township": ("quarantine", "乡镇街道代码不存在（不在本区区划代码表中）。", "Township code not in the area code list."),
    "unknown_area": ("quarantine", "区划代码不存在。", "Area code not in the area code list."),
    "invalid_committee_code": ("quarantine", "村（居）委会代码应为12位且属于本区乡镇街道。", "Committee code must be 12 digits within a known township."),
    "invalid_residence": ("quarantine", "城乡应填城镇或乡村。", "Residence must be urban or rural."),
    "invalid_code": ("quarantine", "取值不在代码表中。", "Value not in the code list."),
    "id_excel_mangled": ("quarantine", "身份证号被Excel转成了科学计数法（如4.30502E+17），请将该列设为文本后重新导出。", "ID number mangled by Excel into scientific notation."),
    "id_bad_format": ("quarantine", "身份证号格式错误（应为18位，最后一位可为X）。", "ID number has the wrong format."),
    "id_bad_checksum": ("quarantine", "身份证号校验位错误，请核对号码。", "ID number check digit is wrong."),
    "id_bad_birth_date": ("quarantine", "身份证号中的出生日期不存在。", "Birth date inside the ID number does not exist."),
    "duplicate_row": ("quarantine", "与本文件中另一行完全重复。", "Exact duplicate of another row in this file."),
    "duplicate_key": ("quarantine", "编号与本文件中另一行重复。", "Record key duplicates another row in this file."),
    "duplicate_across_files": ("quarantine", "该记录已在其他年份的文件中报送过。", "Record already reported in another year's file."),
    "duplicate_file": ("quarantine", "整份文件与已报送的另一期文件内容完全相同，可能报错了年份，未入库。", "The whole file is identical to a file already loaded for another period."),
    "numerator_exceeds_denominator": ("quarantine", "分项数大于其所属总数（分子大于分母）。", "Part exceeds its total (numerator above denominator)."),
    "same_content_as_other_period": ("flag", "整份文件与已报送的另一期文件内容完全相同：如果两期数值确实相同可忽略，否则请核实是否报错了年份或文件名。", "The whole file is identical to the file of another period: fine if the figures really are the same, otherwise check the year in the file name."),
    "sex_contradicts_id": ("flag", "性别与身份证号第17位不符，请核实。", "Stated sex contradicts the ID number."),
    "birth_date_contradicts_id": ("flag", "出生日期与身份证号中的出生日期不符，请核实。", "Stated birth date contradicts the ID number."),
    "invalid_format": ("flag", "格式不符合要求（如ICD-10编码）。", "Value has an unexpected format."),
    "id_lowercase_x": ("normalise", "身份证号末位小写x已改为大写X。", "Lower-case x in the ID number upper-cased."),
    "id_15_digit": ("normalise", "15位旧身份证号已升位为18位。", "15-digit ID number upgraded to 18 digits."),
    "fullwidth_characters": ("normalise", "全角数字或字符已转换为半角。", "Full-width characters converted."),
    "stray_spaces": ("normalise", "多余空格已去除。", "Stray spaces removed."),
    "date_format_variant": ("normalise", "日期格式已统一为YYYY-MM-DD。", "Date format normalised to YYYY-MM-DD."),
    "excel_serial_date": ("normalise", "Excel日期序列号已转换为日期。", "Excel serial number converted to a date."),
}


# Rules about the whole row (or several rows): always quarantine, whatever the column they name.
ROW_RULES = frozenset({
    "field_count_mismatch", "undecodable_line", "truncated_line", "control_characters", "line_too_long",
    "repeated_header", "missing_required_column", "duplicate_row", "duplicate_key", "duplicate_across_files",
    "duplicate_file", "numerator_exceeds_denominator",
})
# Appended to the reason of a finding whose field was blanked (action exclude_field).
EXCLUDE_FIELD_ZH = "该字段已置空，该记录仍计入不需要此字段的指标。"
EXCLUDE_FIELD_EN = "The value was blanked; the record still counts where this field is not needed."


def action(rule_id: str) -> str:
    return RULES[rule_id][0]


def reason_zh(rule_id: str) -> str:
    return RULES[rule_id][1]


def reason_en(rule_id: str) -> str:
    return RULES[rule_id][2]
