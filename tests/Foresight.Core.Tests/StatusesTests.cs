using System.Text.Json;
using Foresight.Core;

namespace Foresight.Core.Tests;

/// <summary>Typed statuses read and write as the names the database, the API and the pages used before they were typed.</summary>
public class StatusesTests
{
    [Fact]
    public void Each_name_parses_to_its_one_instance_and_an_unknown_name_is_refused()
    {
        Assert.Same(RoundStatus.Open, RoundStatus.Parse("open"));
        Assert.Same(ReportStatus.Ready, ReportStatus.Parse("ready"));
        Assert.Equal(["open", "closing", "closed"], RoundStatus.All.Select(s => s.Name));
        Assert.Equal(["queued", "sending", "sent", "failed", "cancelled", "interrupted"], MailStatus.All.Select(s => s.Name));
        Assert.Throws<FormatException>(() => RoundStatus.Parse("Open"));
        Assert.Throws<FormatException>(() => TopicStatus.Parse("closed"));
    }

    [Fact]
    public void A_status_is_its_name_in_text_and_json()
    {
        Assert.Equal("status.closing", "status." + RoundStatus.Closing);
        var json = JsonSerializer.Serialize(new { status = ProposalStatus.Accepted, report = (ReportStatus?)null });
        Assert.Equal("""{"status":"accepted","report":null}""", json);
        Assert.Same(SurveyStatus.Finished, JsonSerializer.Deserialize<SurveyStatus>("\"finished\""));
        Assert.NotEqual<object>(ImportStatus.Done, AnalysisStatus.Done);
    }
}
