using Foresight.Core.LongFormat;

namespace Foresight.Core.Tests.LongFormat;

public sealed class CsvTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"http://evil.test\",\"click\")", "\"'=HYPERLINK(\"\"http://evil.test\"\",\"\"click\"\")\"")]
    [InlineData("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1:A9)", "'@SUM(A1:A9)")]
    [InlineData("\tTAB", "'\tTAB")]
    [InlineData("\r=1", "\"'\r=1\"")]
    public void Text_a_spreadsheet_would_run_as_a_formula_is_written_as_text(string value, string written)
    {
        Assert.True(Csv.RunsAsFormula(value));
        Assert.Equal(written, Csv.Escape(value));
    }

    [Theory]
    [InlineData("-3")]
    [InlineData("+1.5")]
    [InlineData("-2.5e3")]
    [InlineData("plain text")]
    [InlineData("a = b")]
    [InlineData("2035")]
    public void Numbers_and_ordinary_text_are_written_as_they_are(string value)
    {
        Assert.False(Csv.RunsAsFormula(value));
        Assert.Equal(value, Csv.Escape(value));
    }

    [Fact]
    public void An_escaped_row_reads_back_with_the_apostrophe_and_no_other_change()
    {
        var w = new StringWriter();
        Csv.WriteRow(w, "1", "=1+1", "-4", "x, \"y\"");
        var (_, fields) = Csv.Read(new StringReader(w.ToString())).Single();
        Assert.Equal(["1", "'=1+1", "-4", "x, \"y\""], fields);
    }
}
