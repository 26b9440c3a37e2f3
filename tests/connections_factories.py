import factory

from connections.models import Connection
from tests.factories import MerchantAccountFactory

GOOD_TOKEN = "0123456789abcdef0123456789ab3f9a"


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection
        skip_postgeneration_save = True

    merchant = factory.SubFactory(MerchantAccountFactory)
    name = factory.Sequence(lambda n: f"sevDesk {n}")
    start_date = factory.Faker("date_between", start_date="-1y", end_date="today")
    order_states = [3, 4, 7]
    api_token = GOOD_TOKEN
    api_token_last4 = GOOD_TOKEN[-4:]
    status = Connection.Status.OK
    bookkeeping_version = "2.0"

    @factory.post_generation
    def shops(self, create, extracted, **kwargs):
        if create and extracted:
            self.shops.set(extracted)
