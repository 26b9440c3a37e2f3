import factory
from django.contrib.auth import get_user_model

from merchants.models import Membership, MerchantAccount


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class MerchantAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantAccount

    name = factory.Sequence(lambda n: f"Shop {n} GmbH")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    merchant = factory.SubFactory(MerchantAccountFactory)
    role = Membership.Role.OWNER
