using Foresight.Core.Surveys;

namespace Foresight.Server.Features.Mail;

/// <summary>
/// The messages experts receive, in Chinese and English. {link} stays a placeholder until the message is sent, so
/// the outbox never holds a secret.
/// </summary>
public static class MailTemplates
{
    public const string LinkPlaceholder = "{link}";

    public static (string Subject, string Body) Invitation(string language, string name, string survey, int round, DateTimeOffset? deadline) =>
        language == Languages.Chinese
            ? ($"邀请：{survey} 第 {round} 轮德尔菲调查",
               $"{name}，您好：\n\n诚邀您参加“{survey}”第 {round} 轮专家调查。{Deadline(language, deadline)}\n\n" +
               $"请通过您的个人链接作答（无需注册，请勿转发）：\n{LinkPlaceholder}\n\n" +
               "您的回答以匿名方式汇总，其他专家看不到您的身份。\n\n感谢您的支持！\nForesight 技术预见平台")
            : ($"Invitation: round {round} of the Delphi survey \"{survey}\"",
               $"Dear {name},\n\nYou are invited to answer round {round} of the expert survey \"{survey}\". {Deadline(language, deadline)}\n\n" +
               $"Please answer through your personal link (no sign-up; please do not forward it):\n{LinkPlaceholder}\n\n" +
               "Your answers are aggregated anonymously; other experts do not see who you are.\n\nThank you!\nForesight");

    public static (string Subject, string Body) Reminder(string language, string name, string survey, int round, DateTimeOffset deadline) =>
        language == Languages.Chinese
            ? ($"提醒：{survey} 第 {round} 轮调查即将截止",
               $"{name}，您好：\n\n“{survey}”第 {round} 轮调查将于 {When(deadline)} 截止，您尚未完成全部课题。" +
               $"已保存的回答仍在，可从上次离开处继续：\n{LinkPlaceholder}\n\n感谢您的支持！\nForesight 技术预见平台")
            : ($"Reminder: round {round} of \"{survey}\" closes soon",
               $"Dear {name},\n\nRound {round} of \"{survey}\" closes on {When(deadline)} and you have not finished all its topics yet. " +
               $"Your saved answers are kept; continue where you left off:\n{LinkPlaceholder}\n\nThank you!\nForesight");

    public static (string Subject, string Body) Thanks(string language, string name, string survey, int round) =>
        language == Languages.Chinese
            ? ($"感谢参与：{survey} 第 {round} 轮结果报告已发布",
               $"{name}，您好：\n\n感谢您参加“{survey}”第 {round} 轮调查。本轮结果报告已发布，可在此阅读和下载：\n{LinkPlaceholder}\n\nForesight 技术预见平台")
            : ($"Thank you: the round {round} report of \"{survey}\" is published",
               $"Dear {name},\n\nThank you for answering round {round} of \"{survey}\". The round's report is published; read and download it " +
               $"here:\n{LinkPlaceholder}\n\nForesight");

    static string Deadline(string language, DateTimeOffset? deadline) => deadline is not { } d ? "" :
        language == Languages.Chinese ? $"本轮截止时间：{When(d)}。" : $"The round closes on {When(d)}.";

    static string When(DateTimeOffset d) => d.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
}
