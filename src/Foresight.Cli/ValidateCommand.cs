using Foresight.Core.Surveys;

namespace Foresight.Cli;

/// <summary>`foresight validate SURVEY.yaml`: the same checks as the server's import, without a server.</summary>
public static class ValidateCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new Arguments(args);
        if (a.Positional.Count == 0) throw new UsageException("give one or more survey files: foresight validate SURVEY.yaml");
        int status = CliApp.Ok;
        foreach (var path in a.Positional)
        {
            if (!File.Exists(path)) { stderr.WriteLine($"{path}: no such file"); status = CliApp.BadInput; continue; }
            var result = SurveyFile.Parse(File.ReadAllText(path), path);
            if (!result.Ok)
            {
                foreach (var e in result.Errors) stderr.WriteLine(e);
                status = CliApp.BadInput;
                continue;
            }
            var s = result.Survey!;
            stdout.WriteLine($"{path}: ok: survey '{s.Id}', {s.Fields.Count} fields, {s.Topics.Count()} topics, {s.Questions.Count} questions per topic, " +
                $"languages {string.Join(", ", s.Languages)}");
        }
        return status;
    }
}
