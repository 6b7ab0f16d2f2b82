"""What a turn a small local model answers as well as Claude looks like, in several languages.

The forms of simple turns, each a small closed vocabulary or pattern: social turns (greetings,
thanks, acknowledgements, small talk, emoji), arithmetic and unit conversions written tersely,
text chores (sort, uppercase, number lines, make a list or a table, fix the spelling), and short
factual questions. English, German, Spanish, French and Portuguese, with the commonest Italian,
Dutch and Japanese forms. Every text here is lowercase; a turn is lowercased before it is read.
"""

from __future__ import annotations

import re

# Whole-turn social talk: a turn every word of which is one of these (emoji and punctuation
# aside) says hello, thanks, yes or goodbye, whatever their order.
SOCIAL_WORDS = frozenset(
    """
    hi hello hey hiya yo there morning afternoon evening night good thanks thank you thx ty tysm cheers
    bye goodbye see ya later ok okay k kk cool nice great awesome perfect super sure yes yep yeah yup
    alright right got it that worked works that's thats all for today now understood makes sense
    sounds lol haha lmao funny so much a lot again appreciate it's its how's hows how are is going doing
    your my day you today s d m ll re ve well very wonderful amazing brilliant fantastic excellent fine
    glad happy help helped helpful the was this fixed solved sorted clear noted will do try talk
    tomorrow soon later have an of to again
    hallo guten tag abend servus moin danke dankeschön vielen dank schön toll perfekt passt alles klar
    ja hat geklappt funktioniert klappt wie geht gehts es dir ihnen tschüss ciao bis später gut sehr
    prima super mega cool und morgen nacht gute guten jetzt läuft verstanden erledigt
    hola buenos buenas días dias tardes noches gracias muchas mil vale perfecto genial bien sí si ya
    funciona funcionó qué que tal estás estas adiós adios hasta luego listo muy entendido acuerdo está
    bonjour salut bonsoir merci beaucoup parfait génial d accord oui ça ca marche va au revoir à plus
    bonne journée top très tres bien compris entendu nickel impeccable fonctionne
    olá ola oi bom dia boa tarde noite obrigado obrigada valeu beleza perfeito ótimo otimo legal tudo
    bem sim funcionou tchau até ate logo muito e aí entendi certo combinado show blz deu como foi teu
    seu
    grazie mille perfetto va bene sì funziona come stai buongiorno buonasera
    hoi dank je wel bedankt het werkt nu prima doei goedemorgen
    こんにちは ありがとう ありがとうございます 助かりました おはよう おはようございます どうも
    """.split()
)
#: Small talk beyond the social words ("do you like music?", "tell me a joke").
SMALL_TALK = re.compile(
    r"^(?:how (?:was|is) your (?:day|weekend|week)|what are you (?:up to|doing)|do you like \w+|"
    r"what(?:'s| is) your (?:name|favou?rite \w+)|who are you|are you (?:a bot|an ai|human)|"
    r"tell me a (?:joke|fun fact)|erzähl(?:e)? (?:mir )?einen witz|cuéntame un chiste|"
    r"raconte(?:-moi)? une blague|conta(?:-me)? uma piada|me conta uma piada|"
    r"wie war dein (?:tag|wochenende)|was machst du|qué tal tu (?:día|fin de semana)|"
    r"tu fais quoi|comment s'est passée? ta|e aí,? como foi (?:teu|seu) dia|como foi (?:o )?(?:teu|seu) dia)\b"
)

# Arithmetic: what is left once the question's frame is taken away is an expression.
_ARITHMETIC_FRAME = re.compile(
    r"^(?:what(?:'s| is)|how much is|calculate|compute|wie ?viel (?:sind|ist)|was (?:ist|sind|ergibt)|"
    r"rechne|cuánto es|cuanto es|calcula|combien (?:font|fait)|calcule|quanto (?:é|e|dá|da|fa)|"
    r"hoeveel is)\s+"
)
# Operators written as words: "15 times 4", "15 mal 4", "7 por 8", "sept fois huit" is left alone.
_WORD_OPERATORS = re.compile(
    r"(?<=\d) (?:times|multiplied by|mal|por|fois|vezes|per|x) (?=\d)|(?<=\d) (?:plus|más|mais|und) (?=\d)|"
    r"(?<=\d) (?:minus|menos|moins|meno) (?=\d)|(?<=\d) (?:divided by|geteilt durch|dividido por|divisé par|diviso) (?=\d)"
)
_EXPRESSION = re.compile(r"^[\d\s.,+\-*/^×x÷()=?%²³√]+$")
_OPERATOR = re.compile(r"\d\s*[+\-*/^×x÷]\s*\d|\d[²³]|√\s*\d|sqrt\(\d")
_PERCENT_OF = re.compile(r"^[\d.,]+\s*%\s*(?:of|von|de|di|van|do|da)\s+[\d.,]+\s*\??$")
_SQUARE_ROOT = re.compile(r"^(?:sqrt|square root of|racine carrée de|raíz cuadrada de|raiz quadrada de|wurzel aus)\s*\(?[\d.,]+\)?\s*\??$")
# Unit conversions: "90 min in hours", "5 ft 11 in cm", "1 mile = ? km", "100 km a millas".
_UNIT_CONVERSION = re.compile(
    r"^(?:convert\s+|wandle\s+|rechne\s+|convierte\s+|pasa\s+|convertis\s+|converte\s+)?"
    r"[\d.,]+\s*[^\W\d_]{1,12}\.?(?:\s*[\d.,]+\s*[^\W\d_]{0,12})?\s*"
    r"(?:in|into|to|en|em|a|nach|naar|para|um|->|→|=\s*\?)\s*[^\W\d_]{1,12}(?:\s+(?:um|umrechnen))?\s*\??$"
)

# Text chores: an instruction that opens the turn and works on the text that follows it.
TEXT_CHORE = re.compile(
    r"^(?:please\s+|pls\s+|bitte\s+|por favor,?\s+|s'il te plaît,?\s+|stp\s+)?(?:"
    r"sort|alphabeti[sz]e|uppercase|upper-case|lowercase|lower-case|capitali[sz]e|title-case|title case|"
    r"number (?:these|the|each) (?:lines|items)|remove (?:the )?duplicates|dedupe|deduplicate|"
    r"count the (?:words|letters|characters|lines)|reverse (?:this|these|the order)|"
    r"(?:make|turn|convert|format) (?:this|it|these|them)(?: in)?(?:to| into| as)? an? (?:(?:bullet(?:ed)?|numbered) )?(?:list|table|markdown table|checklist)|"
    r"(?:make|create) an? (?:(?:bullet(?:ed)?|numbered) )?(?:list|table|markdown table) (?:of|from|with)|"
    r"fix (?:the |my )?(?:spelling|typos|grammar|capitali[sz]ation|punctuation)|correct (?:the )?(?:spelling|grammar)|"
    r"spell-?check|proofread|"
    r"sortiere|sortier|ordne|schreib (?:das|es|dies) (?:in|als) (?:groß|klein)buchstaben|in großbuchstaben|in kleinbuchstaben|"
    r"nummeriere|mach(?:e)? (?:daraus|davon|das zu) (?:eine )?(?:aufzählung|liste|tabelle|markdown-tabelle)|"
    r"mach(?:e)? eine (?:aufzählung|liste|tabelle|markdown-tabelle)|korrigiere (?:die |meine )?(?:rechtschreibung|grammatik|tippfehler)|"
    r"zähle die (?:wörter|buchstaben)|entferne (?:die )?duplikate|"
    r"ordena|pon (?:esto |en )?(?:en )?(?:mayúsculas|minúsculas)|numera|haz una (?:lista|tabla)|"
    r"convierte (?:esto |esta lista )?en una (?:lista|tabla)|corrige (?:la )?(?:ortografía|gramática|las faltas)|"
    r"cuenta las (?:palabras|letras)|quita (?:los )?duplicados|"
    r"trie|mets (?:ça |cela |ceci )?en (?:majuscules|minuscules)|numérote|fais(?:-en| en)? une (?:liste|tableau)|"
    r"transforme (?:ça|cela|ceci) en (?:liste|tableau)|corrige (?:l'orthographe|la grammaire|les fautes)|"
    r"compte les mots|enlève les doublons|"
    r"coloca (?:isso )?em (?:maiúsculas|minúsculas)|transforma (?:isso )?em (?:uma )?(?:lista|tabela)|"
    r"faz uma (?:lista|tabela)|corrige a (?:ortografia|gramática)|conta as palavras|remove os duplicados|"
    r"ordina|metti in maiuscolo|correggi (?:l'ortografia|gli errori)|sorteer|zet in hoofdletters|verbeter de spelling"
    r")\b"
)

# Short factual questions: a look-up, not a line of reasoning.
FACTUAL = re.compile(
    r"^(?:what(?:'s| is| are| was| were) (?:the )?(?:capital|meaning|population|plural|opposite|boiling|"
    r"freezing|speed|height|distance|date|time|day)|what does \S+ mean|what(?:'s| is) an? \w+\??$|"
    r"who (?:is|was|wrote|painted|invented|discovered|won)|when (?:is|was|did)|where (?:is|was)|"
    r"how (?:many|much|old|far|long|tall|big) |how do you (?:say|spell|pronounce)|"
    r"is (?:a |an |the )?\w+ (?:a|an|the|still a|bigger|smaller|older|a kind of) |are \w+ \w+\??$|"
    r"was (?:ist|sind|bedeutet|heißt|heisst) |wer (?:ist|war|hat) |wann (?:ist|war|wurde) |wo (?:ist|liegt) |"
    r"wie (?:viele?|alt|weit|hoch|lang|groß|sagt man) |ist (?:der|die|das|ein|eine) \w+ (?:ein|eine|größer|kleiner) |"
    r"(?:¿)?(?:qué (?:es|son|significa)|cuál es|cuántos?|cuántas?|quién (?:es|fue|escribió)|cuándo|dónde (?:está|queda)|"
    r"cómo se dice|los \w+ pueden|es (?:el|la|un|una) \w+ (?:un|una|más)) |"
    r"(?:qu'est-ce qu(?:e|')|que (?:veut dire|signifie)|quel(?:le)? est la capitale|quelle est|combien|qui (?:est|a écrit|a peint)|"
    r"quand|où (?:est|se trouve)|comment dit-on|est-ce que (?:le|la|les|l'|un|une) )|"
    r"(?:o que (?:é|significa|quer dizer)|qual (?:é|e) a capital|quantos?|quantas?|quem (?:é|foi|escreveu)|quando|onde (?:fica|é)|"
    r"como se diz|(?:o|a) \w+ (?:é|e) (?:maior|menor|um|uma) )|"
    r"(?:che cos'è|cosa significa|come si dice|qual è la capitale|chi (?:è|ha)|quanti|wat (?:is|betekent)|hoe zeg je|hoeveel)|"
    r"is it ['\"‘’“”«]?\w+['\"‘’“”»]? or |which is (?:correct|right)|schreibt man|se escribe|on écrit|escreve-se|"
    r"(?:translate|übersetze?|traduce|tradúceme|traduis|traduz|traduza|traduci|vertaal)\b"
    r")"
)

# Words that make a short turn consequential or hard whatever its form: health, law, money, maths
# beyond arithmetic. Stems, matched at word starts.
CONSEQUENTIAL = re.compile(
    r"\b(?:safe|danger|legal|illegal|lawyer|lawsuit|sue|tax|dose|dosage|medic|drug|pregnan|symptom|diagnos|"
    r"prescri|invest|stock|crypto|mortgage|loan|prime|integer|solve|equation|derivative|integral|proof|prove|"
    r"probabilit|complexity|o\(n|"
    r"steuer|rechtlich|gesetz|anwalt|medikament|dosis|schwanger|"
    r"impuesto|fiscal|abogado|médico|medicamento|ibuprofen|paracetamol|embaraz|despido|"
    r"impôt|avocat|médicament|enceinte|licenci|"
    r"imposto|advogad|remédio|grávida|demitid|justa causa)"
)

# Risk words beyond English: reasoning, explanation, design, comparison, code work.
RISK_WORDS = re.compile(
    r"\b(?:warum|wieso|weshalb|erkläre?|erklären|unterschied|vergleiche?|entwirf|entwerfe|analysiere|"
    r"debugge|optimiere|implementiere|programmiere|refaktoriere|"
    r"por ?qué|explica|explícame|explique|diferencia|compara|diseña|analiza|depura|optimiza|implementa|"
    r"pourquoi|expliquer?|différence|conçois|analyse|débogue|optimise|implémente|"
    r"por que|diferença|projeta|projete|analisa|otimiza|"
    r"perché|spiega|differenza|waarom|leg uit|verschil)\b"
)

#: The leading words a question turn may carry before its frame ("so, ", "hey, ", "¿").
_LEAD = re.compile(r"^(?:(?:so|ok|okay|hey|quick question|also|and|und|y|et|e aí|e)\b[\s,:]*|¿|¡)+")


def words_of(lowered: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", lowered)


def is_social(lowered: str) -> bool:
    """Greetings, thanks, acknowledgements, small talk or a lone emoji: the whole turn."""
    words = words_of(lowered)
    if not words:
        return not any(c.isdigit() for c in lowered)  # emoji and punctuation only
    if len(words) <= 12 and all(w in SOCIAL_WORDS for w in words):
        return True
    return len(words) <= 10 and bool(SMALL_TALK.match(_LEAD.sub("", lowered)))


def is_arithmetic(lowered: str) -> bool:
    """A calculation or a unit conversion written tersely: "2^10?", "17% of 2300", "90 min in hours"."""
    text = _ARITHMETIC_FRAME.sub("", _LEAD.sub("", lowered.strip())).strip()
    text = _WORD_OPERATORS.sub(" * ", text)
    if _EXPRESSION.match(text):
        return bool(_OPERATOR.search(text)) or "%" in text
    return bool(_PERCENT_OF.match(text) or _SQUARE_ROOT.match(text) or _UNIT_CONVERSION.match(text))


def is_text_chore(lowered: str) -> bool:
    return bool(TEXT_CHORE.match(_LEAD.sub("", lowered.strip())))


# A short yes/no question about the world ("can penguins fly?", "ist der Wal ein Säugetier?"), not
# about the asker's own situation ("can I…", "should we…"), which is advice.
_YES_NO = re.compile(
    r"^(?:is|are|was|were|does|do|did|can|has|have|ist|sind|war|hat|haben|kann|können|gibt es|"
    r"es|son|fue|puede|pueden|tiene|tienen|hay|est-ce que|peut-on|a-t-il|é|são|foi|pode|podem|tem|existe)\s+"
    r"(?!i\b|we\b|my\b|our\b|ich\b|wir\b|mein|yo\b|mi\b|je\b|mon\b|ma\b|eu\b|meu\b|minha\b)"
)
MAX_YES_NO_WORDS = 8


def is_factual(lowered: str) -> bool:
    text = _LEAD.sub("", lowered.strip())
    if FACTUAL.match(text):
        return True
    return text.rstrip().endswith("?") and len(text.split()) <= MAX_YES_NO_WORDS and bool(_YES_NO.match(text))
