"""Intent-meets-target rules for prompt injection in 15 languages besides English.

The English rules (:mod:`doorman.screen.rules`) need a verb of intent next to its object; these
do the same per language with small hand-written lexicons: *ignore/forget* near
*instructions/rules*, *show/print* near *system prompt/hidden instructions*, *forget everything
you were told*, *your previous instructions are void*, and *no restrictions / developer mode*.
Word order differs (Japanese, Korean, Turkish and Hindi put the object first), so verb and object
may come in either order within a short span.

Latin-script languages are matched on the canonical view (lower case, diacritics stripped, so
the lexicons are ASCII); Cyrillic, CJK, Hangul, Arabic and Devanagari on a plain NFKC,
case-folded view, because the canonical view folds Cyrillic look-alikes into Latin letters.
No model, no download: a few compiled regexes, run only when the text holds a word of the
language's object lexicon.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from doorman.screen.gate import Gated

SPAN = 50  # characters allowed between a verb and its object

# lexicon keys: ign (ignore/forget verbs), obj (instructions/rules...), reveal (show/print...),
# secret (system prompt, hidden instructions...), told (what you were told), void (are void),
# free (no restrictions, developer mode), hidden (hidden/secret instructions: enough alone)
_LATIN: dict[str, dict[str, str]] = {
    "de": {
        "ign": r"ignorier\w*|vergiss|vergessen sie|missacht\w*|ubergeh\w*|verwirf|halte? dich nicht (?:mehr )?an|befolg\w*(?: \w+){0,4} (?:nicht|keine)(?: \w+)? mehr|hor\w* nicht mehr auf",
        "obj": r"anweisung\w*|regel\w*|richtlinie\w*|vorgabe\w*|instruktion\w*|befehl\w*|systemprompt\w*|einschrankung\w*|anordnung\w*",
        "reveal": r"zeig\w*|gib|nenn\w*|wiederhol\w*|schreib\w*|verrat\w*|druck\w*|ausgeben|offenbar\w*|wortwortlich|wort fur wort",
        "secret": r"system-?prompt\w*|systemnachricht|system\w*anweisung\w*|system-eingabeaufforderung|(?:ursprunglich|versteckt|geheim|anfanglich|initial)\w* (?:anweisung|instruktion|vorgabe|regel)\w*|deine (?:anweisungen|regeln|vorgaben)|text (?:uber|oberhalb) (?:dieser|der|meiner) (?:nachricht|zeile)",
        "told": r"(?:dir|ihnen) (?:vorher |zuvor |bisher |jemals )?(?:gesagt|aufgetragen|befohlen|mitgeteilt)",
        "void": r"ungultig|aufgehoben|nichtig|gelten nicht mehr|ausser kraft",
        "free": r"(?:ki|ai|assistent\w*|du bist|modell) ohne (?:jegliche |irgendwelche |alle )?(?:einschrankung|beschrankung|filter|zensur|grenzen|regeln)\w*|entwicklermodus|(?:hast du|gibt es|gelten|du hast) (?:jetzt |ab jetzt |nun )?keine (?:regeln|einschrankungen|grenzen|filter)|uneingeschrankt\w*",
        "hidden": r"(?:versteckt|geheim)\w* (?:anweisung|instruktion|vorgabe)\w*",
    },
    "fr": {
        "ign": r"ignore\w*|oublie\w*|ne (?:tiens|tenez) (?:plus |pas )?compte|fais abstraction|n'obei\w* plus|ne (?:suis|suivez|respecte|respectez) plus|passe outre",
        "obj": r"instructions?|consignes?|regles?|directives?|ordres?|prompt|restrictions?",
        "reveal": r"montre\w*|affiche\w*|revele\w*|repete\w*|ecris|donne\w*|dis-?moi|imprime\w*|divulgue\w*|recopie\w*|reproduis|mot pour mot",
        "secret": r"prompt systeme|message systeme|(?:instructions|consignes) (?:initiales|cachees|originales|secretes|systeme|d'origine)|(?:tes|vos) (?:instructions|consignes)|texte (?:au-?dessus|ci-?dessus) de ce message",
        "told": r"(?:on t'a|on vous a|qu'on t'a|qu'on vous a) (?:dit|demande|ordonne)",
        "void": r"annulee?s?|caduques?|nulles? et non avenues?|ne s'appliquent plus|ne comptent plus",
        "free": r"(?:ia|ai|assistant|modele|tu es) sans (?:aucune |la moindre )?(?:restriction|limite|filtre|censure|regle)s?|mode developpeur|plus (?:aucune|de) (?:regle|restriction)s?",
        "hidden": r"(?:instructions|consignes) (?:cachees|secretes)",
    },
    "es": {
        "ign": r"ignora\w*|ignore|olvida\w*|olvide|no sigas|no sigan|deja de seguir|haz caso omiso|desobedece\w*|omite",
        "obj": r"instrucciones|indicaciones|reglas|normas|directrices|ordenes|restricciones|politicas|prompt",
        "reveal": r"muestra\w*|ensena\w*|escribe|repite|revela\w*|dime|imprime|copia|dame|palabra por palabra",
        "secret": r"prompt (?:del|de) sistema|mensaje (?:del|de) sistema|instrucciones (?:originales|iniciales|ocultas|secretas|del sistema)|(?:tus|sus) (?:instrucciones|directrices)|texto (?:que aparece )?(?:encima|arriba) de este mensaje",
        "told": r"(?:te|le) (?:dijeron|han dicho|indicaron|ordenaron)|se te (?:dijo|indico)",
        "void": r"anulad[ao]s|invalid[ao]s|sin efecto|ya no (?:valen|aplican|sirven)",
        "free": r"(?:ia|ai|asistente|modelo|eres) sin (?:ninguna |ningun )?(?:restriccion|restricciones|limites|filtros?|censura|reglas)|modo desarrollador|ya no hay reglas",
        "hidden": r"instrucciones (?:ocultas|secretas)",
    },
    "it": {
        "ign": r"ignora\w*|dimentica\w*|non seguire|smetti di seguire|trascura\w*|non rispettare",
        "obj": r"istruzioni|regole|direttive|indicazioni|ordini|restrizioni|linee guida|prompt|norme",
        "reveal": r"mostra\w*|scrivi|ripeti|rivela\w*|dimmi|stampa|elenca|dammi|parola per parola",
        "secret": r"prompt di sistema|messaggio di sistema|istruzioni (?:iniziali|originali|nascoste|segrete|di sistema)|le tue istruzioni|testo sopra questo messaggio",
        "told": r"(?:ti e|ti hanno|ti sono) (?:stat[oi] )?(?:detto|dett[ie]|ordinato)",
        "void": r"annullat[ei]|non valgono piu|non sono piu valide|invalid[ei]",
        "free": r"(?:ia|ai|assistente|modello|sei) senza (?:alcuna |nessuna )?(?:restrizion[ei]|limit[ei]|filtr[oi]|censura|regole)|modalita sviluppatore",
        "hidden": r"istruzioni (?:nascoste|segrete)",
    },
    "pt": {
        "ign": r"ignore|ignora|esqueca|esquece|nao siga|pare de seguir|desconsidere|desobedeca|despreze",
        "obj": r"instrucoes|regras|diretrizes|ordens|orientacoes|restricoes|normas|prompt",
        "reveal": r"mostre\w*|mostra|escreva|repita|revele|diga|imprima|liste|de-?me|me de|palavra por palavra",
        "secret": r"prompt (?:de|do) sistema|mensagem (?:de|do) sistema|instrucoes (?:originais|iniciais|ocultas|secretas|do sistema)|(?:suas|tuas) instrucoes|texto acima desta mensagem",
        "told": r"(?:lhe|te) (?:disseram|foi dito|mandaram)",
        "void": r"anulad[ao]s|invalid[ao]s|sem efeito|nao valem mais",
        "free": r"(?:ia|ai|assistente|modelo|voce e|es) sem (?:nenhuma |qualquer )?(?:restricao|restricoes|limites?|filtros?|censura|regras)|modo desenvolvedor",
        "hidden": r"instrucoes (?:ocultas|secretas)",
    },
    "nl": {
        "ign": r"negeer\w*|vergeet|volg(?: \w+){0,4} niet meer|houd je niet (?:meer )?aan|lap(?: \w+){0,3} aan je laars",
        "obj": r"instructies|regels|richtlijnen|opdrachten|bevelen|beperkingen|prompt|voorschriften",
        "reveal": r"laat(?: \w+){0,4} zien|toon|geef(?: \w+){0,6} weer|herhaal|schrijf|vertel|print|onthul|woord voor woord",
        "secret": r"systeemprompt|systeembericht|(?:oorspronkelijke|originele|verborgen|geheime|initiele) instructies|(?:je|jouw) instructies|tekst boven dit bericht",
        "told": r"(?:je|jou) (?:eerder |ooit )?(?:is |werd )?(?:verteld|gezegd|opgedragen)",
        "void": r"ongeldig|vervallen|geschrapt|gelden niet meer",
        "free": r"(?:ai|assistent|model|je bent) zonder (?:enige )?(?:beperkingen|restricties|filters|censuur|grenzen|regels)|ontwikkelaarsmodus",
        "hidden": r"(?:verborgen|geheime) instructies",
    },
    "pl": {
        "ign": r"zignoruj|ignoruj|zapomnij|nie przestrzegaj|nie stosuj sie|przestan przestrzegac|pomin",
        "obj": r"instrukcj\w*|zasad\w*|regul\w*|polecen\w*|wytyczn\w*|ograniczen\w*|prompt\w*|rozkaz\w*",
        "reveal": r"pokaz|wypisz|napisz|powtorz|ujawnij|podaj|wyswietl|zdradz|powiedz|slowo w slowo",
        "secret": r"prompt systemow\w*|wiadomosc systemow\w*|(?:pierwotne|oryginalne|ukryte|poczatkowe|tajne|systemowe) instrukcje|twoje instrukcje|tekst\w*(?: \w+){0,3} (?:nad|powyzej) (?:ta|tej|ten) wiadomosc\w*",
        "told": r"(?:ci|tobie) (?:wczesniej )?(?:powiedziano|kazano|polecono)",
        "void": r"niewazne|uniewaznione|anulowane|nie obowiazuja",
        "free": r"(?:inteligencja|ai|asystent\w*|model\w*|jestes) bez (?:zadnych )?(?:ograniczen|filtrow|cenzury|zasad)|tryb (?:dewelopera|programisty)",
        "hidden": r"(?:ukryte|tajne) instrukcje",
    },
    "tr": {
        # verb stems take suffixes; the negative ("unutma": do not forget) is excluded
        "ign": r"yok say(?!ma)\w*|gormezden gel(?!me)\w*|unut(?!ma)\w*|uyma(?:yin|yiniz)?|uymayi birak\w*|dikkate alma\w*|ihmal et(?!me)\w*|goz ardi et(?!me)\w*|hice say(?!ma)\w*|bos ver(?!me)\w*|aldirma\w*",
        "obj": r"talimat\w*|kural\w*|yonerge\w*|komut\w*|emir\w*|kisitlama\w*|sinirlama\w*|istem\w*|politika\w*|direktif\w*|ilke\w*|filtre\w*",
        "reveal": r"goster\w*|yaz\w*|tekrarla\w*|soyle\w*|acikla\w*|ifsa et\w*|listele\w*|paylas\w*|kelimesi kelimesine",
        "secret": r"sistem (?:istem|mesaj|talimat)\w*|(?:orijinal|gizli|ilk|baslangic) talimat\w*|ustundeki metn?i",
        "told": r"soylenen|soylendi",
        "void": r"gecersiz|iptal",
        "free": r"kisitlama\w* (?:olmayan|yok)|sinirsiz (?:bir )?(?:yapay zeka|asistan|model)|kural tanimayan|gelistirici mod\w*|filtresiz|sansursuz|kisitlamasiz|(?:hicbir|herhangi bir) (?:kural|kisitlama|sinir|filtre|sansur|etik)\w*(?: \w+){0,2} (?:yok|olmadan|olmaksizin|tanima\w*|bagli degil\w*)|kurallara (?:bagli|uymak zorunda) degil\w*|etik (?:kural|sinir|ilke)\w* (?:olmadan|olmaksizin|tanima\w*)|karakter\w* (?:bozma|cikma)(?:yacaksin|malisin|yin)?",
        "hidden": r"gizli talimat\w*",
    },
    "vi": {
        "ign": r"bo qua|quen het|quen (?:di|moi)|phot lo|(?:dung|khong|ngung) (?:tuan theo|lam theo|nghe theo)",
        "obj": r"huong dan|chi dan|quy tac|chi thi|gioi han|loi nhac|quy dinh|menh lenh",
        "reveal": r"cho (?:toi )?xem|hien thi|viet (?:lai|ra)|lap lai|tiet lo|in ra|noi cho|liet ke|nguyen van",
        "secret": r"loi nhac he thong|(?:huong dan|chi dan|chi thi) (?:ban dau|an|goc|bi mat|he thong)|prompt he thong|van ban phia tren tin nhan",
        "told": r"duoc (?:dan|bao|noi|yeu cau)",
        "void": r"bi huy|vo hieu|khong con hieu luc",
        "free": r"khong (?:co )?(?:bat ky )?gioi han nao|che do nha phat trien|khong bi gioi han",
        "hidden": r"(?:huong dan|chi dan) (?:an|bi mat)",
    },
}
# Distinctive words of each Latin-script language (function words and the lexicons' commonest
# forms, none an everyday English word): its rules run only when two of them occur, which keeps
# English text from paying for nine languages' regexes.
_GATE_WORDS: dict[str, str] = {
    "de": "und nicht ist mit mir dir du deine deinen dein deiner alle alles ich sie wie zeig gib "
    "wiederhole text uber dieser "
    "nur noch jetzt sind ohne keine der das dem bitte ignoriere vergiss anweisungen regeln "
    "richtlinien vorherigen bisherigen wurde gesagt",
    "fr": "les des tes vos toutes tous tout et est pas moi toi tu je une dans avec cette qu'on ignore oublie consignes regles montre affiche precedentes repete texte sans aucune reponds",
    "es": "las los todas todos tus sus y el del muestrame ahora eres sin que una por mensaje dime ignora olvida instrucciones reglas anteriores",
    "it": "tutte tutto tue il della di che sei ora senza mi dimmi sono questo ignora dimentica istruzioni regole precedenti",
    "pt": "todas suas tuas voce os da que sem agora nao mensagem esqueca instrucoes regras anteriores",
    "nl": "alle je jouw het de een en niet zonder nu laat mij bent wat dit negeer vergeet instructies regels vorige",
    "pl": "wszystkie wszystko swoje twoje nie jestes bez teraz mi mnie tylko od sie zignoruj zapomnij instrukcje zasady poprzednie",
    "tr": "ve bir tum butun sana bana sadece artik bu icin ile hic daha onceki talimatlari talimatlarini talimatlar kurallari kurallarini unut sen senin simdi degilsin hicbir "
    "kisitlamalari kisitlama kisitlamalar reddetme",
    "vi": "cac tat cua toi nhung khong mot nay gio bo qua huong dan",
}
_GATES = {lang: frozenset(words.split()) for lang, words in _GATE_WORDS.items()}

# "lift": the jailbreak asks without the classic words, per language: lift or remove every
# restriction, answer without restrictions, the safety rules do not apply here, never refuse.
# Latin-script entries are canonical (lower case, no diacritics).
_LIFT: dict[str, str] = {
    "de": r"(?:antworte\w*|reagier\w*|schreib\w*) ohne (?:jegliche |irgendwelche |alle )?(?:einschrankung|beschrankung|filter|zensur|grenzen|regeln)\w*|(?:hebe|entferne|deaktiviere|ignoriere) (?:alle |samtliche |deine )?(?:einschrankung|beschrankung|sicherheitsfilter|filter|sicherheitsregel|sicherheitsrichtlinie)\w*|(?:sicherheits\w*|ethische\w*) (?:richtlinien|regeln|grenzen|vorgaben) (?:gelten|greifen) (?:hier |in diesem fall |jetzt |fur dich )?nicht|(?:du darfst|darfst du) (?:\w+ )?nicht (?:ablehnen|verweigern)|(?:niemals|nie) (?:ablehnen|verweigern)",
    "fr": r"(?:repond\w*|ecri\w*) sans (?:aucune |la moindre )?(?:restriction|limite|filtre|censure)s?|(?:supprime|supprimez|leve|levez|desactive|desactivez|retire|retirez|enleve|enlevez) (?:toutes )?(?:les |tes |vos )?(?:restrictions|filtres|limites)|regles de securite (?:ne s'appliquent pas|ne valent pas)|(?:ne refuse|ne refusez) (?:jamais|pas)|tu ne (?:peux|dois) pas refuser|sans (?:jamais )?refuser",
    "es": r"(?:respond\w*|contest\w*|escrib\w*) sin (?:ninguna |ningun )?(?:restriccion|restricciones|limites|filtros?|censura)|(?:elimina|eliminen|quita|quiten|desactiva|desactiven|levanta|levanten) (?:todas )?(?:las |tus )?(?:restricciones|filtros|limitaciones)|(?:reglas|normas|politicas) de seguridad no (?:se )?aplican|(?:no|nunca) (?:te )?(?:niegues|rechaces|te niegues)|sin negarte",
    "it": r"(?:rispond\w*|scriv\w*) senza (?:alcuna |nessuna )?(?:restrizion[ei]|limit[ei]|filtr[oi]|censura)|(?:rimuovi|rimuovete|elimina|eliminate|disattiva|disattivate|togli|togliete) (?:tutte )?(?:le |i )?(?:restrizioni|filtri|limitazioni)|(?:linee guida|regole) di sicurezza non (?:valgono|si applicano)|non (?:rifiutare|(?:puoi|devi) rifiutar\w*)|senza rifiutar\w*",
    "pt": r"(?:respond\w*|escrev\w*) sem (?:nenhuma |qualquer )?(?:restricao|restricoes|limites?|filtros?|censura)|(?:remova|remove|removam|retire|retira|desative|desativa) (?:todas )?(?:as )?(?:restricoes|filtros|limitacoes)|regras de seguranca nao (?:se )?aplicam|(?:nao|nunca) (?:se )?recuse|sem recusar",
    "nl": r"antwoord\w* zonder (?:enige )?(?:beperkingen|restricties|filters|censuur)|verwijder (?:alle )?(?:beperkingen|filters|restricties)|weiger (?:niet|nooit)|(?:mag|kun) (?:je )?niet weigeren",
    "pl": r"odpowiad\w* bez (?:zadnych )?(?:ograniczen|filtrow|cenzury)|(?:usun|usuncie|wylacz|wylaczcie|znies|zniescie) (?:wszystkie )?(?:ograniczenia|filtry)|(?:nigdy )?nie odmawiaj|bez odmowy",
    "tr": r"(?:tum|butun|hicbir|her) (?:\w+ )?kisitlama\w* (?:kaldir(?:in|iniz)?|yok say(?:in)?|atla(?:yin)?|devre disi birak(?:in)?)(?!\w)|kisitlama\w* kaldir(?:in|iniz)?(?!\w)|kisitlama(?:lar)? olmadan (?:\w+ )?(?:cevap|yanit|devam)\w*|guvenlik (?:kural|yonerge|filtre|yanit)\w* (?:atla|devre disi|gecersiz|gecerli degil|tam tersini)\w*|etik kural\w* muaf\w*|(?:asla|hicbir \w+) reddetme\w*|reddedemezsin|reddetmeyeceksin|reddetmemelisin",
    "vi": r"khong (?:duoc )?tu choi|dung tu choi|go bo (?:moi |tat ca )?(?:cac )?gioi han|tra loi (?:ma )?khong (?:co )?gioi han",
    "ru": r"не отказывай(?:те)?(?!\w)|нельзя отказ\w*|(?:сними|отключи|убери)\w* (?:все )?(?:ограничения|фильтры)|правила безопасности (?:здесь )?не (?:действуют|применяются)",
    "zh": r"不要拒绝|不能拒绝|不得拒绝|绝不拒绝|(?:解除|取消|移除|去掉)(?:所有|一切)?(?:的)?限制|安全(?:规则|准则|限制)(?:在这里)?不适用",
    "ja": r"拒否しないで|拒否してはいけない|断らないで|制限を(?:解除|外し|無効)",
    "ko": r"거절하지 마|거부하지 마|제한을 (?:해제|없애|풀어)",
    "ar": r"لا ترفض|(?:إزالة|ازالة|ارفع|أزل) (?:جميع |كل )?القيود",
    "fa": r"رد نکن|محدودیت\w* را بردار",
    "hi": r"मना मत करो|इनकार मत करो|(?:सभी|सारे) प्रतिबंध हटा",
}

_SCRIPT: dict[str, dict[str, str]] = {
    "ru": {
        "ign": r"игнорируй\w*|игнорировать|забудь\w*|не соблюдай\w*|не следуй\w*|не выполняй\w*|пренебреги|отбрось",
        "obj": r"инструкци\w*|указани\w*|правил\w*|команд\w*|директив\w*|ограничени\w*|промпт\w*",
        "reveal": r"покажи|выведи|напиши|повтори|расскажи|раскрой|распечатай|назови|дословно|слово в слово",
        "secret": r"системн\w* (?:промпт|инструкци|сообщени)\w*|(?:исходн|скрыт|первоначальн|секретн)\w* (?:инструкци|указани)\w*|текст над этим сообщением",
        "told": r"(?:тебе|вам) (?:раньше |ранее )?(?:говорили|сказали|велели|приказали)",
        "void": r"отменен\w*|недействительн\w*|аннулирован\w*",
        "free": r"без (?:каких-либо |всяких |любых )?ограничений|режим\w* разработчика|нет (?:никаких )?ограничений",
        "hidden": r"(?:скрыт|секретн)\w* инструкци\w*",
    },
    "zh": {
        "ign": r"忽略|无视|忘记|忘掉|不要再?遵守|不再遵守|别管",
        "obj": r"指令|指示|规则|提示词|设定|限制|命令",
        "reveal": r"展示|显示|输出|告诉我|给我看|打印|重复|说出|泄露|透露|列出|逐字",
        "secret": r"系统提示|系统指令|初始指令|最初的指令|隐藏的?指令|原始指令|上面的文字",
        "told": r"被告知|告诉你的|对你说的",
        "void": r"作废|无效|失效",
        "free": r"没有任何限制|不受任何限制|没有限制的|无限制的|开发者模式",
        "hidden": r"隐藏的?指令|秘密指令",
    },
    "ja": {
        "ign": r"無視|忘れ|従わない|従うな",
        "obj": r"指示|命令|ルール|規則|制限|プロンプト|設定",
        "reveal": r"見せ|表示|出力|教え|繰り返|書き出|漏ら|一字一句",
        "secret": r"システムプロンプト|最初の指示|隠された指示|元の指示|初期指示|より上のテキスト",
        "told": r"言われた|指示された",
        "void": r"無効|取り消",
        "free": r"制限のない|制限なし|制限がない|開発者モード",
        "hidden": r"隠された指示|秘密の指示",
    },
    "ko": {
        "ign": r"무시|잊고|잊어|따르지 마|따르지 말",
        "obj": r"지시|지침|규칙|명령|프롬프트|제한",
        "reveal": r"보여|출력|알려|반복|말해|공개|그대로",
        "secret": r"시스템 프롬프트|처음 받은 지시|숨겨진 지시|원래 지시|초기 지시|위에 있는 텍스트",
        "told": r"들은|말한 것|지시받은",
        "void": r"무효|취소",
        "free": r"제한이 없는|제한 없는|제한 없이|개발자 모드",
        "hidden": r"숨겨진 지시|비밀 지시",
    },
    "ar": {
        "ign": r"تجاهل|انس|إنس|لا تتبع|لا تلتزم|تخط",
        "obj": r"\w*تعليمات\w*|\w*قواعد\w*|\w*الأوامر|\w*أوامر\w*|\w*الإرشادات|\w*توجيهات\w*|\w*القيود",
        "reveal": r"اعرض|أظهر|اكتب|كرر|أخبرني|اطبع|اكشف|حرفيا",
        "secret": r"موجه النظام|تعليمات النظام|تعليماتك (?:الأصلية|المخفية|الأولى)|التعليمات المخفية|النص الموجود فوق هذه الرسالة",
        "told": r"قيل لك|أُخبرت|طلب منك",
        "void": r"ملغاة|لاغية|باطلة",
        "free": r"بلا (?:أي )?قيود|بدون (?:أي )?قيود|دون قيود|وضع المطور",
        "hidden": r"تعليماتك المخفية|التعليمات المخفية|التعليمات السرية",
    },
    "fa": {
        "ign": r"نادیده بگیر|فراموش کن",
        "obj": r"دستورالعمل\w*|دستورات|دستورهای|قوانین|قواعد",
        "reveal": r"نشان بده|بنویس|تکرار کن|کلمه به کلمه",
        "secret": r"پرامپت سیستم|دستورات سیستم|دستورالعمل\w* مخفی",
        "told": r"به تو گفته",
        "void": r"باطل|لغو",
        "free": r"بدون (?:هیچ )?محدودیت|حالت توسعه",
        "hidden": r"دستورالعمل\w* مخفی",
    },
    "hi": {
        "ign": r"अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल जाओ|भूल जाइए|पालन मत|पालन न करें",
        "obj": r"निर्देश\w*|नियम\w*|आदेश\w*|प्रॉम्प्ट|दिशानिर्देश\w*",
        "reveal": r"दिखाओ|दिखाइए|बताओ|लिखो|दोहराओ|प्रिंट|शब्दशः",
        "secret": r"सिस्टम प्रॉम्प्ट|मूल निर्देश|छिपे हुए निर्देश|ऊपर वाला पाठ|प्रारंभिक निर्देश",
        "told": r"बताया गया",
        "void": r"रद्द",
        "free": r"बिना किसी प्रतिबंध|कोई प्रतिबंध नहीं|डेवलपर मोड",
        "hidden": r"छिपे हुए निर्देश",
    },
}
_SCRIPT_RANGES = {
    "ru": "\u0400-\u04ff",
    "zh": "\u4e00-\u9fff",
    "ja": "\u3040-\u30ff\u4e00-\u9fff",
    "ko": "\uac00-\ud7af",
    "ar": "\u0600-\u06ff",
    "fa": "\u0600-\u06ff",
    "hi": "\u0900-\u097f",
}
_NO_BOUNDARY = frozenset({"zh", "ja", "ko"})  # no spaces between words (ko: within words)


@dataclass(frozen=True, slots=True)
class _LangRules:
    lang: str
    gate: Gated
    rules: tuple[tuple[str, float, Gated], ...]


def _compile(lang: str, lex: dict[str, str]) -> _LangRules:
    if lang in _NO_BOUNDARY:
        b, e = "", ""
    else:
        b, e = r"(?<!\w)", r"(?!\w)"

    def w(key: str) -> str:
        return f"{b}(?:{lex[key]}){e}"

    near = f".{{0,{SPAN}}}?"
    specs = (
        ("override", 0.92, f"{w('ign')}{near}{w('obj')}|{w('obj')}{near}{w('ign')}"),
        ("override_told", 0.9, f"{w('ign')}{near}{w('told')}|{w('told')}{near}{w('ign')}"),
        ("override_void", 0.85, f"{w('obj')}.{{0,25}}?{w('void')}"),
        ("extraction", 0.9, f"{w('reveal')}{near}{w('secret')}|{w('secret')}{near}{w('reveal')}"),
        ("extraction_hidden", 0.8, w("hidden")),
        ("unrestricted", 0.8, w("free")),
        ("restrictions_lifted", 0.8, w("lift")),
    )
    rules = tuple(
        (f"{name}_{lang}", weight, Gated(re.compile(pattern, re.DOTALL)))
        for name, weight, pattern in specs
    )
    gate = Gated(
        re.compile(f"{b}(?:{lex['obj']}|{lex['secret']}|{lex['free']}|{lex['told']}|{lex['lift']})")
    )
    return _LangRules(lang, gate, rules)


_LATIN_RULES = tuple(_compile(lang, {**lex, "lift": _LIFT[lang]}) for lang, lex in _LATIN.items())
_SCRIPT_RULES = tuple(_compile(lang, {**lex, "lift": _LIFT[lang]}) for lang, lex in _SCRIPT.items())
_SCRIPT_RE = {lang: Gated(re.compile(f"[{chars}]")) for lang, chars in _SCRIPT_RANGES.items()}
_ANY_SCRIPT = Gated(re.compile(f"[{''.join(_SCRIPT_RANGES.values())}]"))  # one pass for all
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
MAX_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class MultilingualMatch:
    score: float
    rules: tuple[str, ...]


NO_MATCH = MultilingualMatch(0.0, ())


def _run(groups: tuple[_LangRules, ...], text: str) -> list[tuple[str, float]]:
    hits: list[tuple[str, float]] = []
    for group in groups:
        if not group.gate.found(text):
            continue
        hits.extend((name, weight) for name, weight, rx in group.rules if rx.found(text))
    return hits


def match_multilingual(raw: str, canonical: str, tokens: list[str]) -> MultilingualMatch:
    """Score ``raw`` (the original text) and ``canonical`` (its main normalized view, whose
    tokens are ``tokens``)."""
    words = set(tokens)
    needed = 1 if len(tokens) < 60 else 2  # a short text costs little to check
    latin = tuple(g for g in _LATIN_RULES if len(words & _GATES[g.lang]) >= needed)
    hits = _run(latin, canonical[:MAX_CHARS]) if latin else []
    if not raw.isascii():
        head = raw[:MAX_CHARS]
        present = (
            tuple(g for g in _SCRIPT_RULES if _SCRIPT_RE[g.lang].found(head))
            if _ANY_SCRIPT.found(head)
            else ()
        )
        if present:
            plain = _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", head)).casefold()
            hits.extend(_run(present, plain))
    if not hits:
        return NO_MATCH
    return MultilingualMatch(max(w for _, w in hits), tuple(name for name, _ in hits))
